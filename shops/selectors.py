"""Public shop reads for the buyer site (cached: shop profiles 10 minutes)."""

from __future__ import annotations

from django.db.models import QuerySet

from etsy import cache
from etsy.names import normalise_name
from shops.exceptions import ShopNotFound
from shops.models import Shop


def is_shop_name_taken(*, name: str, exclude_pk: int | None = None) -> bool:
    """Whether another shop has this name in its normal form (etsy.names.normalise_name; the database's
    unique constraint on ``Shop.name_key`` is the last word under races)."""
    return Shop.objects.filter(name_key=normalise_name(name)).exclude(pk=exclude_pk).exists()


def _active_shops() -> QuerySet[Shop]:
    """Shops buyers may see, ready to render as a card."""
    return Shop.objects.filter(is_active=True).select_related("owner")


def get_shop_card(*, shop_id: int) -> Shop:
    """Return an active shop by id (cached). Raises ShopNotFound."""

    def fetch() -> Shop | None:
        return _active_shops().filter(pk=shop_id).first()

    shop = cache.cache_aside(cache.shop_key(shop_id), fetch, ttl=cache.TTL["shop"], cache_type="shop")
    if shop is None:
        raise ShopNotFound()
    return shop


# What a product page's shop card and shop line show of a shop (``catalog/product_detail.html``): a shop whose
# row reads the same values shows the same card.
SHOP_CARD_FIELDS = (
    "pk",
    "slug",
    "name",
    "rating",
    "review_count",
    "logo",
    "location",
    "sales_count",
    "processing_days",
    "shipping_base",
    "free_shipping_threshold",
)


def shop_card_row(shop: Shop) -> tuple:
    """``SHOP_CARD_FIELDS`` of ``shop`` (a file as its stored name), as a page's signature digests them."""
    return tuple(getattr(value, "name", value) for value in (getattr(shop, name) for name in SHOP_CARD_FIELDS))


def list_shop_cards(*, shop_ids: list[int], found: dict | None = None) -> dict[int, Shop]:
    """Return the active shops among ``shop_ids`` by id (cached like ``get_shop_card``; one query for misses).

    ``found``: the caller's read of these keys (``cache.cache_aside_many``).
    """

    def fetch(missing: list[int]) -> dict[int, Shop | None]:
        active = _active_shops().in_bulk(missing)
        return {pk: active.get(pk) for pk in missing}  # closed shops cached as None, as get_shop_card does

    shops = cache.cache_aside_many(
        shop_ids, key=cache.shop_key, fetch=fetch, ttl=cache.TTL["shop"], cache_type="shop", found=found
    )
    return {pk: shop for pk, shop in shops.items() if shop is not None}


def get_shop_by_slug(*, slug: str) -> Shop:
    """Return an active shop by slug. Raises ShopNotFound."""
    shop_id = cache.cache_aside(
        f"shop:slug:{slug}",
        lambda: Shop.objects.filter(slug=slug, is_active=True).values_list("pk", flat=True).first(),
        ttl=cache.TTL["shop"],
        cache_type="shop",
    )
    if shop_id is None:
        raise ShopNotFound()
    return get_shop_card(shop_id=shop_id)


def list_open_shop_ids() -> list[int]:
    """Ids of the shops open to buyers, in id order."""
    return list(Shop.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True))
