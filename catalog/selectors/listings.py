"""Category and shop listings: filters and sorts, cached pages with capped counts, and page signatures."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from functools import partial

from django.db.models import QuerySet

from catalog.models import Product, ProductImage
from catalog.selectors.categories import get_category, list_category_ids
from catalog.selectors.products import _card_queryset
from etsy import cache

# Public sort names -> ORDER BY. Unknown names fall back to "newest" (bad input is not an error here).
ORDERINGS: dict[str, tuple[str, ...]] = {
    "newest": ("-created_at", "-id"),
    "price_asc": ("price", "id"),
    "price_desc": ("-price", "-id"),
    "popular": ("-favorite_count", "-view_count", "-id"),
}
DEFAULT_ORDERING = "newest"


def list_products(
    *,
    category_slug: str | None = None,
    shop_id: int | None = None,
    price_min: Decimal | None = None,
    price_max: Decimal | None = None,
    vintage: bool | None = None,
    in_stock: bool = True,
    ordering: str = DEFAULT_ORDERING,
) -> QuerySet[Product]:
    """Return visible products matching the filters; a category includes its subcategories.

    Raises CategoryNotFound for an unknown category slug.
    """
    qs = _card_queryset()
    if category_slug:
        qs = qs.filter(category_id__in=list_category_ids(category=get_category(slug=category_slug)))
    if shop_id is not None:
        qs = qs.filter(shop_id=shop_id)
    if price_min is not None:
        qs = qs.filter(price__gte=price_min)
    if price_max is not None:
        qs = qs.filter(price__lt=price_max)
    if vintage is not None:
        qs = qs.filter(is_vintage=vintage)
    if in_stock:
        qs = qs.filter(quantity__gt=0)
    return qs.order_by(*ORDERINGS.get(ordering, ORDERINGS[DEFAULT_ORDERING]))


# A listing counts its matches up to this many and says "9,600+" beyond: counting a 1M catalog's
# large category took seconds (every match read), and nobody pages past 400 pages of 24 (the
# views stop there; deep pages are for search).
COUNT_CAP = 9_600


@dataclass
class ProductPage:
    """One page of a listing: the products and what pagination needs."""

    products: list[Product]
    total: int  # the number of matches, or COUNT_CAP + 1 for more than COUNT_CAP
    page: int
    per_page: int

    @property
    def is_total_capped(self) -> bool:
        return self.total > COUNT_CAP

    @property
    def shown_total(self) -> str:
        """The number of matches as a page shows it ("9,600+" beyond the cap)."""
        return f"{COUNT_CAP:,}+" if self.is_total_capped else str(self.total)

    @property
    def pages(self) -> int:
        return max(1, -(-min(self.total, COUNT_CAP) // self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    def signature(self) -> str:
        """A digest of what this page shows: its count and each card's fields (``LISTING_CARD_FIELDS``, pictures).

        :func:`read_listing_signature` reads the same digest from the database; equal digests mean an equal page.
        """
        rows = [
            (
                tuple(getattr(p, name) for name in LISTING_CARD_FIELDS),
                p.shop.name,
                p.shop.rating,
                tuple((i.image.name, i.thumbnail.name, i.alt_text, i.width, i.height) for i in p.images.all()),
            )
            for p in self.products
        ]
        return _listing_digest(self.total, rows)


# What a listing's card shows of a listing and its shop (``catalog/_card.html``), with its pictures: a page whose
# cards read the same values renders the same (its category, sort and page are in its cache key).
LISTING_CARD_FIELDS = ("pk", "slug", "title", "price", "has_price_range", "is_vintage", "quantity")
_SHOP_CARD_FIELDS = ("shop__name", "shop__rating")
_PICTURE_FIELDS = ("image", "thumbnail", "alt_text", "width", "height")


def _listing_digest(total: int, rows: list) -> str:
    return hashlib.blake2b(repr((total, rows)).encode(), digest_size=16).hexdigest()


def list_products_page(
    *,
    category_slug: str | None = None,
    shop_id: int | None = None,
    price_min: Decimal | None = None,
    price_max: Decimal | None = None,
    vintage: bool | None = None,
    ordering: str = DEFAULT_ORDERING,
    page: int = 1,
    per_page: int = 24,
    fresh: bool = False,
) -> ProductPage:
    """Return one page of a category or shop listing (cached per filter set and generation).

    A listing's key carries the generation of its category and shop, bumped by
    ``catalog.receivers`` when a product there changes, so edits show at once.
    ``fresh``: read the page and its count from the database and store them (a page cached from this one
    must not inherit the age of the cached copies). Raises CategoryNotFound.
    """
    page = max(1, page)
    gen_keys = []
    if category_slug:
        category = get_category(slug=category_slug)
        gen_keys.append(cache.category_gen_key(category.pk))
    if shop_id is not None:
        gen_keys.append(cache.shop_products_gen_key(shop_id))
    gens = cache.get_generations(gen_keys)
    params = {
        "c": category_slug,
        "s": shop_id,
        "min": price_min,
        "max": price_max,
        "v": vintage,
        "o": ordering if ordering in ORDERINGS else DEFAULT_ORDERING,
        "p": page,
        "n": per_page,
        "g": ".".join(map(str, gens)),
    }
    key = f"listing:{cache.params_digest(params)}"
    # Every sort and page of one filter set has the same count: counted once for them all.
    count_key = f"listing:count:{cache.params_digest({k: v for k, v in params.items() if k not in ('o', 'p', 'n')})}"

    def fetch() -> ProductPage:
        qs = list_products(
            category_slug=category_slug,
            shop_id=shop_id,
            price_min=price_min,
            price_max=price_max,
            vintage=vintage,
            ordering=ordering,
        )
        count = partial(_count_capped, qs)
        if fresh:
            total = count()
            cache.set(count_key, total, ttl=cache.TTL["category"])
        else:
            total = cache.cache_aside(count_key, count, ttl=cache.TTL["category"], cache_type="category")
        offset = (page - 1) * per_page
        if offset >= total:
            products = []
        elif category_slug and ordering in MERGED_ORDERINGS and len(ids := _subtree_ids(category_slug)) > 1:
            products = _page_merged_by_category(qs, ids, ordering=ordering, offset=offset, limit=per_page)
        else:
            products = list(qs[offset : offset + per_page])
        return ProductPage(products=products, total=total, page=page, per_page=per_page)

    if fresh:
        listing = fetch()
        cache.set(key, listing, ttl=cache.TTL["category"])
        return listing
    return cache.cache_aside(key, fetch, ttl=cache.TTL["category"], cache_type="category")


RECENT_COUNT_SECONDS = 30


def read_listing_signature(
    *,
    category_slug: str | None = None,
    shop_id: int | None = None,
    price_min: Decimal | None = None,
    price_max: Decimal | None = None,
    vintage: bool | None = None,
    ordering: str = DEFAULT_ORDERING,
    page: int = 1,
    per_page: int = 24,
) -> str:
    """Return :meth:`ProductPage.signature` of this page as the database has it now, without building the page.

    The count (at most ``RECENT_COUNT_SECONDS`` old), the page's card fields and its pictures (three queries,
    four for a merged sort, one fewer when the count was read for another page of the filter set; no model
    instances): a cached page whose signature still matches can be kept another TTL without being rebuilt.
    Raises CategoryNotFound.
    """
    page = max(1, page)
    qs = list_products(
        category_slug=category_slug,
        shop_id=shop_id,
        price_min=price_min,
        price_max=price_max,
        vintage=vintage,
        ordering=ordering,
    )
    # The count is shared by every sort and page of a filter set, which come due together: counted once for them
    # in RECENT_COUNT_SECONDS (a count that old is kept with a page stamped fresh; its TTL is ten times that).
    filter_set = {"c": category_slug, "s": shop_id, "min": price_min, "max": price_max, "v": vintage}
    total = cache.cache_aside(
        f"listing:count:recent:{cache.params_digest(filter_set)}",
        partial(_count_capped, qs),
        ttl=RECENT_COUNT_SECONDS,
        cache_type="category",
        lock=False,
        jitter=False,
    )
    offset = (page - 1) * per_page
    fields = (*LISTING_CARD_FIELDS, *_SHOP_CARD_FIELDS)
    plain = qs.select_related(None).prefetch_related(None)
    if offset >= total:
        rows = []
    elif category_slug and ordering in MERGED_ORDERINGS and len(ids := _subtree_ids(category_slug)) > 1:
        page_ids = _merged_page_ids(qs, ids, ordering=ordering, offset=offset, limit=per_page)
        by_id = {row[0]: row for row in plain.order_by().filter(pk__in=page_ids).values_list(*fields)}
        rows = [by_id[pk] for pk in page_ids if pk in by_id]
    else:
        rows = list(plain.values_list(*fields)[offset : offset + per_page])
    pictures: dict[int, list[tuple]] = {}
    for product_id, *picture in (
        ProductImage.objects.filter(product_id__in=[row[0] for row in rows])
        .order_by("product_id", "position", "id")
        .values_list("product_id", *_PICTURE_FIELDS)
    ):
        pictures.setdefault(product_id, []).append(tuple(picture))
    n = len(LISTING_CARD_FIELDS)
    return _listing_digest(total, [(tuple(row[:n]), *row[n:], tuple(pictures.get(row[0], ()))) for row in rows])


def _count_capped(qs: QuerySet[Product]) -> int:
    return qs.order_by()[: COUNT_CAP + 1].count()


# Sorts whose order a category's listings can be read in from an index leading with the category
# (product_listed_price_idx): a category page with subcategories reads each one's first rows in order
# and merges them, where one query over all of them walked the whole catalog's price index past every
# cheaper listing of other categories (234k rows, 2.5 s, at 1M listings).
MERGED_ORDERINGS = ("price_asc", "price_desc")


def _subtree_ids(category_slug: str) -> list[int]:
    return list_category_ids(category=get_category(slug=category_slug))


def _page_merged_by_category(
    qs: QuerySet[Product], category_ids: list[int], *, ordering: str, offset: int, limit: int
) -> list[Product]:
    """One page of ``qs`` (already filtered to ``category_ids``) in ``ordering``: the page's ids from each
    category's first ``offset + limit`` rows merged in SQL, then the cards of those ids (two queries and images)."""
    ids = _merged_page_ids(qs, category_ids, ordering=ordering, offset=offset, limit=limit)
    cards = {p.pk: p for p in qs.order_by().filter(pk__in=ids)}
    return [cards[pk] for pk in ids if pk in cards]


def _merged_page_ids(
    qs: QuerySet[Product], category_ids: list[int], *, ordering: str, offset: int, limit: int
) -> list[int]:
    """The ids of one page of ``qs`` in ``ordering``, from each category's first ``offset + limit`` rows merged."""
    order = ORDERINGS[ordering]
    columns = [name.lstrip("-") for name in order]
    rows = qs.select_related(None).prefetch_related(None).order_by(*order).values_list(*columns)
    if len(category_ids) == 1:
        page = rows.filter(category_id=category_ids[0])[offset : offset + limit]
    else:
        parts = [rows.filter(category_id=pk)[: offset + limit] for pk in category_ids]
        page = parts[0].union(*parts[1:], all=True).order_by(*order)[offset : offset + limit]
    return [row[-1] for row in page]
