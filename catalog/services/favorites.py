"""Favorites: a buyer's saved listings and shops."""

from __future__ import annotations

from functools import partial

from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Greatest

from catalog.exceptions import AlreadyFavorited, ProductNotFound
from catalog.models import Favorite, Product
from catalog.signals import products_changed
from shops.exceptions import ShopNotFound
from shops.models import Shop


def _send_products_changed(product_id: int) -> None:
    products_changed.send(sender=Favorite, product_ids=[product_id], reason="favorites")


@transaction.atomic
def add_favorite(*, user, product_id: int | None = None, shop_id: int | None = None) -> Favorite:
    """Save a listing or a shop to the buyer's favorites.

    Raises ProductNotFound / ShopNotFound, AlreadyFavorited. Tells listeners after commit.
    """
    if (product_id is None) == (shop_id is None):
        raise ValueError("Pass exactly one of product_id and shop_id.")
    if product_id is not None:
        if not Product.objects.filter(pk=product_id, is_active=True).exists():
            raise ProductNotFound()
        fields = {"kind": Favorite.Kind.PRODUCT, "product_id": product_id}
    else:
        if not Shop.objects.filter(pk=shop_id, is_active=True).exists():
            raise ShopNotFound()
        fields = {"kind": Favorite.Kind.SHOP, "shop_id": shop_id}
    try:
        with transaction.atomic():
            favorite = Favorite.objects.create(user=user, **fields)
    except IntegrityError as exc:
        raise AlreadyFavorited() from exc
    if product_id is not None:
        Product.objects.filter(pk=product_id).update(favorite_count=F("favorite_count") + 1)
        transaction.on_commit(partial(_send_products_changed, product_id))
    return favorite


@transaction.atomic
def remove_favorite(*, user, product_id: int | None = None, shop_id: int | None = None) -> bool:
    """Remove a listing or shop from the buyer's favorites; return whether one was removed."""
    if (product_id is None) == (shop_id is None):
        raise ValueError("Pass exactly one of product_id and shop_id.")
    if product_id is not None:
        deleted, _ = Favorite.objects.filter(user=user, kind=Favorite.Kind.PRODUCT, product_id=product_id).delete()
        if deleted:
            Product.objects.filter(pk=product_id).update(favorite_count=Greatest(F("favorite_count") - 1, 0))
            transaction.on_commit(partial(_send_products_changed, product_id))
    else:
        deleted, _ = Favorite.objects.filter(user=user, kind=Favorite.Kind.SHOP, shop_id=shop_id).delete()
    return bool(deleted)


def set_favorite(*, user, favorite: bool, product_id: int | None = None, shop_id: int | None = None) -> bool:
    """Make a listing or shop a favorite or not, whatever it was before; return the new state.

    The idempotent form of add/remove for buttons that may be clicked twice. Raises ProductNotFound /
    ShopNotFound when adding something that does not exist.
    """
    if not favorite:
        remove_favorite(user=user, product_id=product_id, shop_id=shop_id)
        return False
    try:
        add_favorite(user=user, product_id=product_id, shop_id=shop_id)
    except AlreadyFavorited:
        pass
    return True
