from django.contrib import admin

from cart.models import CartItem


@admin.register(CartItem)
class CartItemAdmin(admin.ModelAdmin):
    """Marketplace admins only (sellers have no cart permissions): support and debugging."""

    list_display = ["user", "product", "quantity", "reserved_until", "added_at"]
    raw_id_fields = ["user", "product"]
    search_fields = ["user__email"]
