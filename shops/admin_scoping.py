"""Seller scoping for the Django admin.

A seller is a staff user who owns a shop (member of the "Sellers" group). Every ModelAdmin
that shows shop data derives from ``ShopScopedAdmin``: its queryset is narrowed to the
seller's shop, so the changelist, change, delete, history and autocomplete views and every
bulk action (they all go through ``get_queryset``/``get_object``) only ever reach the
seller's rows. Foreign-key choices are narrowed the same way, so a forged POST naming
another shop's row fails form validation. Superusers see everything.
"""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied

from etsy.admin_permissions import is_marketplace_admin
from shops.models import Shop
from shops.selectors_seller import get_shop_for_request


def seller_shop(request) -> Shop | None:
    """The shop the requesting staff user manages (None for superusers without one and for others)."""
    return get_shop_for_request(request)


def scope_to_shop(queryset, request, shop_path: str):
    """Narrow ``queryset`` to the requesting seller's shop; superusers keep everything."""
    if is_marketplace_admin(request):
        return queryset
    shop = seller_shop(request)
    if shop is None:
        return queryset.none()
    return queryset.filter(**{shop_path: shop.pk})


def _scoped_choices(model, request):
    """Rows of ``model`` a seller may pick in a foreign key, or None when ``model`` is not shop data.

    A model is shop data when its registered ModelAdmin is shop-scoped: that admin's ``shop_path`` says how its
    rows reach a shop, so no list of models is kept here and apps above shops need not be imported.
    """
    for klass in model.__mro__:
        if not (hasattr(klass, "_meta") and admin.site.is_registered(klass)):
            continue
        model_admin = admin.site.get_model_admin(klass)
        if isinstance(model_admin, ShopScopedMixin):
            if seller_shop(request) is None:
                return model._default_manager.none()
            return scope_to_shop(model._default_manager.all(), request, model_admin.shop_path)
    return None


class ShopScopedMixin:
    """Shared by ModelAdmin and inlines: rows and foreign-key choices limited to the seller's shop."""

    #: lookup from this model to its Shop ("shop", "product__shop", "pk" for Shop itself)
    shop_path = "shop"
    #: for inlines: lookup from the parent model to its Shop
    parent_shop_path = "shop"

    def get_queryset(self, request):
        return scope_to_shop(super().get_queryset(request), request, self.shop_path)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if not is_marketplace_admin(request):
            choices = _scoped_choices(db_field.related_model, request)
            if choices is not None:
                kwargs["queryset"] = choices
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if not is_marketplace_admin(request):
            choices = _scoped_choices(db_field.related_model, request)
            if choices is not None:
                kwargs["queryset"] = choices
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def _owns(self, request, obj) -> bool:
        if obj is None or is_marketplace_admin(request):
            return True
        shop = seller_shop(request)
        if shop is None:
            return False
        if not obj.pk:
            return True
        if isinstance(self, admin.options.InlineModelAdmin):
            # An inline is asked about its parent object (the product of an image, the order of an item).
            parent = type(obj)._default_manager.filter(pk=obj.pk)
            return scope_to_shop(parent, request, self.parent_shop_path).exists()
        return self.get_queryset(request).filter(pk=obj.pk).exists()

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and self._owns(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._owns(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._owns(request, obj)


class ShopScopedAdmin(ShopScopedMixin, admin.ModelAdmin):
    """A ModelAdmin for shop data (see the module docstring)."""

    def get_search_results(self, request, queryset, search_term):
        # The autocomplete view passes its own queryset; scope it again so no caller can widen it.
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        return scope_to_shop(queryset, request, self.shop_path), may_have_duplicates

    def require_seller_shop(self, request) -> Shop:
        """Return the seller's shop for shop-only pages; superusers without a shop get 403."""
        shop = seller_shop(request)
        if shop is None:
            raise PermissionDenied("Only a shop owner can use this page.")
        return shop
