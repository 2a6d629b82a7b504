from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from etsy.admin_permissions import MarketplaceAdminOnly
from etsy.admin_refusals import DomainRefusalAsMessage
from shops import services
from shops.admin_scoping import ShopScopedAdmin, is_marketplace_admin
from shops.forms import ShopAdminForm
from shops.models import DigestLog, Shop

admin.site.site_header = "Makers' Market shop manager"
admin.site.site_title = "Makers' Market admin"
admin.site.index_title = "Your shop"


@admin.register(Shop)
class ShopAdmin(DomainRefusalAsMessage, ShopScopedAdmin):
    shop_path = "pk"
    form = ShopAdminForm
    list_display = ["name", "owner", "rating", "review_count", "sales_count", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug"]
    seller_readonly = [
        "owner",
        "slug",
        "rating",
        "review_count",
        "sales_count",
        "created_at",
        "updated_at",
        "payout_account_link",
    ]
    fieldsets = [
        (None, {"fields": ["name", "slug", "owner", "description", "location", "logo", "banner", "is_active"]}),
        (
            "Shipping policy",
            {
                "fields": [
                    "shipping_base",
                    "shipping_additional",
                    "free_shipping_threshold",
                    "processing_days",
                    "policy_text",
                ]
            },
        ),
        ("Figures", {"fields": ["rating", "review_count", "sales_count", "created_at", "updated_at"]}),
        ("Payouts", {"fields": ["payout_account_link"]}),
    ]

    @admin.display(description="Payout account")
    def payout_account_link(self, obj):
        """The shop's payout account, and the seller's Payments page (where onboarding starts)."""
        if obj is None or not obj.pk:
            return "-"
        page = reverse("admin:payments_ledgerentry_changelist")
        label = obj.payout_account_id or "not set up yet"
        return format_html('{} · <a href="{}">Payments and payout set-up</a>', label, page)

    def get_readonly_fields(self, request, obj=None):
        if is_marketplace_admin(request):
            return ["rating", "review_count", "sales_count", "created_at", "updated_at", "payout_account_link"]
        return self.seller_readonly

    def get_list_filter(self, request):
        return self.list_filter if is_marketplace_admin(request) else []

    def has_add_permission(self, request):
        return is_marketplace_admin(request)  # sellers open their shop from /sell/

    def has_delete_permission(self, request, obj=None):
        return is_marketplace_admin(request) and super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            return
        fields = {f: form.cleaned_data[f] for f in form.changed_data if f in services.SHOP_EDITABLE_FIELDS}
        # The form checked shape; a rule may refuse (e.g. name taken since): the DomainError leaves
        # the admin's transaction and DomainRefusalAsMessage says why.
        services.update_shop(shop=obj, **fields)


@admin.register(DigestLog)
class DigestLogAdmin(MarketplaceAdminOnly):
    list_display = ["day", "shop", "sent_at", "new_orders", "new_favorites", "low_stock"]
    list_filter = ["day"]
    readonly_fields = ["shop", "day", "sent_at", "new_orders", "new_favorites", "low_stock", "created_at"]

    def has_delete_permission(self, request, obj=None):
        return is_marketplace_admin(request)
