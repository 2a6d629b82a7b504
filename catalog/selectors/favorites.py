"""A buyer's favorites: the ids (cached) and the list to render."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet

from catalog.models import Favorite, ProductImage
from etsy import cache


@dataclass(frozen=True)
class FavoriteIds:
    product_ids: frozenset[int]
    shop_ids: frozenset[int]


def get_favorite_ids(*, user_id: int) -> FavoriteIds:
    """Return the ids a buyer has favorited (cached 5 minutes, invalidated on change)."""

    def fetch() -> FavoriteIds:
        rows = Favorite.objects.filter(user_id=user_id).values_list("kind", "product_id", "shop_id")
        products = frozenset(p for k, p, _ in rows if k == Favorite.Kind.PRODUCT)
        shops = frozenset(s for k, _, s in rows if k == Favorite.Kind.SHOP)
        return FavoriteIds(product_ids=products, shop_ids=shops)

    return cache.cache_aside(cache.favorites_key(user_id), fetch, ttl=cache.TTL["favorites"], cache_type="favorites")


def list_favorites(*, user) -> QuerySet[Favorite]:
    """Return the buyer's favorites, newest first, products and shops ready to render."""
    return (
        Favorite.objects.filter(user=user)
        .filter(Q(product__isnull=True) | Q(product__is_active=True))
        .select_related("product__shop", "product__category", "shop")
        .prefetch_related(Prefetch("product__images", queryset=ProductImage.objects.order_by("position", "id")))
        .order_by("-created_at")
    )
