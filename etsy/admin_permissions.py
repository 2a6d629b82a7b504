"""Who may see what in the admin, where no app is involved: marketplace staff versus sellers.

Seller scoping (a seller sees only their shop's rows) needs the Shop model and lives in shops/admin_scoping.py.
"""

from __future__ import annotations

from django.contrib import admin


def is_marketplace_admin(request) -> bool:
    return bool(request.user.is_active and request.user.is_superuser)


class ReadOnlyAdminMixin:
    """Rows written only by services (ledgers, the outbox, digests): the admin shows them, nobody edits them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class MarketplaceAdminOnly(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Rows sellers never see (payments, the outbox, digests): marketplace admins read them, nobody edits them."""

    def has_module_permission(self, request):
        return is_marketplace_admin(request)

    def has_view_permission(self, request, obj=None):
        return is_marketplace_admin(request)
