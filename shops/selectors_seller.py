"""Reads for the seller side: which shop a signed-in user manages."""

from __future__ import annotations

from shops.models import Shop

SELLERS_GROUP = "Sellers"


def get_shop_for_user(*, user) -> Shop | None:
    """Return the shop owned by ``user`` (None for anonymous users and buyers without a shop)."""
    if user is None or not user.is_authenticated:
        return None
    return Shop.objects.filter(owner_id=user.pk).first()


def get_shop_for_request(request) -> Shop | None:
    """Return the requesting user's shop, looked up once per request."""
    if not hasattr(request, "_seller_shop"):
        request._seller_shop = get_shop_for_user(user=getattr(request, "user", None))
    return request._seller_shop


def list_products_for_seller(*, shop):
    """All of ``shop``'s listings, active or not, sold out or not, newest first."""
    from catalog.models import Product

    return (
        Product.objects.filter(shop=shop)
        .select_related("category", "shop")
        .prefetch_related("images")
        .order_by("-created_at", "-id")
    )


def get_product_for_seller(*, shop, product_id: int):
    """One of ``shop``'s listings. Raises catalog.exceptions.ProductNotFound when missing or another shop's."""
    from catalog.exceptions import ProductNotFound

    product = list_products_for_seller(shop=shop).filter(pk=product_id).first()
    if product is None:
        raise ProductNotFound()
    return product
