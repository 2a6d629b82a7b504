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


def get_shop_for_admin(*, shop_id: int) -> Shop | None:
    """Any shop by id, open or closed, for a marketplace admin's view of its figures."""
    return Shop.objects.filter(pk=shop_id).first()
