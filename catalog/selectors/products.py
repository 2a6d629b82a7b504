"""Products as cards: by id through the product cache, one product's detail, a seller's own listings."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from catalog.exceptions import ProductNotFound
from catalog.models import Product, ProductImage
from etsy import cache


def _images_prefetch() -> Prefetch:
    return Prefetch("images", queryset=ProductImage.objects.order_by("position", "id"))


def _visible_products() -> QuerySet[Product]:
    return Product.objects.listed()


def _card_queryset() -> QuerySet[Product]:
    """Products ready to render as cards: shop, category and gallery loaded."""
    return _visible_products().select_related("shop", "category").prefetch_related(_images_prefetch())


def _fetch_cards(product_ids: list[int]) -> dict[int, Product]:
    return {p.pk: p for p in _card_queryset().filter(pk__in=product_ids)}


def list_products_by_ids(*, product_ids: list[int]) -> list[Product]:
    """Return visible products in the order of ``product_ids``.

    Read through the product cache (5 minutes, dropped when a listing changes or sells):
    one MGET, then one query plus images for the ids not cached. Similar items, trending
    and the feed name listings that many pages share, so most are cached already.
    """
    if not product_ids:
        return []
    found = cache.cache_aside_many(
        product_ids, key=cache.product_key, fetch=_fetch_cards, ttl=cache.TTL["product"], cache_type="product"
    )
    return [found[i] for i in product_ids if found.get(i) is not None]


def get_product_detail(*, product_id: int) -> Product:
    """Return a visible product with shop, category and gallery (cached 5 minutes).

    Sold-out listings are returned (the page stays reachable). Raises ProductNotFound.
    """

    def fetch() -> Product | None:
        return _card_queryset().filter(pk=product_id).first()

    product = cache.cache_aside(cache.product_key(product_id), fetch, ttl=cache.TTL["product"], cache_type="product")
    if product is None:
        raise ProductNotFound()
    return product


def get_product_cards(*, product_ids: list[int], found: dict | None = None) -> dict[int, Product]:
    """Return products by id with shop, category and gallery, for lines that name them (a cart).

    Visible listings come from the product cache (5 minutes); listings no longer visible
    (deactivated, or their shop closed) from the database, uncached, so the caller can
    say so. Ids of deleted listings are left out. ``found``: the caller's read of these keys.
    """
    products = cache.cache_aside_many(
        product_ids,
        key=cache.product_key,
        fetch=_fetch_cards,
        ttl=cache.TTL["product"],
        cache_type="product",
        found=found,
    )
    hidden = [pk for pk in dict.fromkeys(product_ids) if products.get(pk) is None]
    if hidden:
        qs = Product.objects.select_related("shop", "category").prefetch_related(_images_prefetch())
        products.update(qs.in_bulk(hidden))
    return {pk: product for pk, product in products.items() if product is not None}


def list_products_for_seller(*, shop):
    """All of ``shop``'s listings, active or not, sold out or not, newest first."""
    return (
        Product.objects.filter(shop=shop)
        .select_related("category", "shop")
        .prefetch_related("images")
        .order_by("-created_at", "-id")
    )


def get_product_for_seller(*, shop, product_id: int):
    """One of ``shop``'s listings. Raises ProductNotFound when missing or another shop's."""
    product = list_products_for_seller(shop=shop).filter(pk=product_id).first()
    if product is None:
        raise ProductNotFound()
    return product
