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
from etsy.prepared import prepared_cursor

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
        qs = qs.filter(in_stock=True)  # the listed-listing indexes' condition (catalog 0011)
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

        :func:`read_listing_signatures` reads the same digest from the database; equal digests mean an equal page.
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


@dataclass(frozen=True)
class ListingPageQuery:
    """One page of a listing as :func:`list_products_page` is asked for it (what :func:`read_listing_signatures`
    reads); pages of one ``filter_set`` share their count and are read together."""

    category_slug: str | None = None
    shop_id: int | None = None
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    vintage: bool | None = None
    ordering: str = DEFAULT_ORDERING
    page: int = 1
    per_page: int = 24

    @property
    def filter_set(self) -> tuple:
        return (self.category_slug, self.shop_id, self.price_min, self.price_max, self.vintage)

    @property
    def offset(self) -> int:
        return (max(1, self.page) - 1) * self.per_page


def read_listing_signatures(pages: list[ListingPageQuery]) -> list[str]:
    """Return :meth:`ProductPage.signature` of each page as the database has it now, without building the pages,
    reading pages of one filter set together.

    A page's count (at most ``RECENT_COUNT_SECONDS`` old), card fields and pictures, no model instances: a cached
    page whose signature still matches can be kept another TTL without being rebuilt.

    Per filter set: its count once, the card fields of each sort's run of adjacent pages in one query (two for a
    merged sort), and the pictures of every page's cards in one query; a wave of pages coming due together (a
    category's sorts and first pages) costs a few queries for them all, not two or three each. Raises
    CategoryNotFound.
    """
    rows_of: dict[ListingPageQuery, list[tuple]] = {}
    totals: dict[tuple, int] = {}
    for filter_set in dict.fromkeys(p.filter_set for p in pages):
        same = [p for p in pages if p.filter_set == filter_set]
        totals[filter_set], found = _read_card_rows(same)
        rows_of.update(found)
    pictures: dict[int, list[tuple]] = {}
    for product_id, *picture in _read_pictures(sorted({row[0] for rows in rows_of.values() for row in rows})):
        pictures.setdefault(product_id, []).append(tuple(picture))
    n = len(LISTING_CARD_FIELDS)
    return [
        _listing_digest(
            totals[p.filter_set],
            [(tuple(row[:n]), *row[n:], tuple(pictures.get(row[0], ()))) for row in rows_of[p]],
        )
        for p in pages
    ]


def _read_card_rows(pages: list[ListingPageQuery]) -> tuple[int, dict[ListingPageQuery, list[tuple]]]:
    """The count of ``pages``' filter set (at most ``RECENT_COUNT_SECONDS`` old) and each page's card fields, a run
    of adjacent or overlapping pages of one sort read in one query."""
    first = pages[0]
    qs = list_products(
        category_slug=first.category_slug,
        shop_id=first.shop_id,
        price_min=first.price_min,
        price_max=first.price_max,
        vintage=first.vintage,
    )
    # The count is shared by every sort and page of a filter set, which come due together: counted once for them
    # in RECENT_COUNT_SECONDS (a count that old is kept with a page stamped fresh; its TTL is ten times that).
    filter_set = dict(zip(("c", "s", "min", "max", "v"), first.filter_set, strict=True))
    total = cache.cache_aside(
        f"listing:count:recent:{cache.params_digest(filter_set)}",
        partial(_count_capped, qs),
        ttl=RECENT_COUNT_SECONDS,
        cache_type="category",
        lock=False,
        jitter=False,
    )
    fields = (*LISTING_CARD_FIELDS, *_SHOP_CARD_FIELDS)
    plain = qs.select_related(None).prefetch_related(None)
    rows_of: dict[ListingPageQuery, list[tuple]] = {p: [] for p in pages}
    merged: dict[ListingPageQuery, list[int]] = {}  # a merged sort's pages: their ids, in order
    for ordering, run in _adjacent_runs([p for p in pages if p.offset < total]):
        start, stop = run[0].offset, max(p.offset + p.per_page for p in run)
        slug = first.category_slug
        if slug and ordering in MERGED_ORDERINGS and len(ids := _subtree_ids(slug)) > 1:
            read = _merged_page_ids(qs, ids, ordering=ordering, offset=start, limit=stop - start)
            found = merged
        else:
            ordered = plain.order_by(*ORDERINGS.get(ordering, ORDERINGS[DEFAULT_ORDERING]))
            read = list(ordered.values_list(*fields)[start:stop])
            found = rows_of
        for p in run:
            found[p] = read[p.offset - start : p.offset - start + p.per_page]
    if merged:  # the merged sorts' cards, all in one query
        ids = {pk for page_ids in merged.values() for pk in page_ids}
        by_id = {row[0]: row for row in plain.order_by().filter(pk__in=ids).values_list(*fields)}
        for p, page_ids in merged.items():
            rows_of[p] = [by_id[pk] for pk in page_ids if pk in by_id]
    return total, rows_of


# The pictures of many cards, in gallery order, by one array parameter: a constant statement, prepared once per
# connection (etsy.prepared), where ``product_id__in`` made the ORM and psycopg handle each id of a wave's pages
# (a sixth of a check's CPU) and PostgreSQL plan a new statement each time.
_PICTURES_SQL = "SELECT product_id, {columns} FROM {table} WHERE product_id = ANY(%s) ORDER BY product_id, position, id"


def _read_pictures(product_ids: list[int]) -> list[tuple]:
    """``product_id`` and ``_PICTURE_FIELDS`` of the pictures of ``product_ids``, by product then gallery order."""
    if not product_ids:
        return []
    meta = ProductImage._meta
    columns = ", ".join(meta.get_field(name).column for name in _PICTURE_FIELDS)
    with prepared_cursor() as cursor:
        cursor.execute(_PICTURES_SQL.format(columns=columns, table=meta.db_table), [product_ids])
        return cursor.fetchall()


def _adjacent_runs(pages: list[ListingPageQuery]) -> list[tuple[str, list[ListingPageQuery]]]:
    """``pages`` by sort (an unknown one read as the default), each sort's in runs of adjacent or overlapping
    pages (read in one query: a gap would read the pages between)."""
    by_sort: dict[str, list[ListingPageQuery]] = {}
    for p in pages:
        by_sort.setdefault(p.ordering if p.ordering in ORDERINGS else DEFAULT_ORDERING, []).append(p)
    runs = []
    for ordering, same in by_sort.items():
        same.sort(key=lambda p: (p.offset, p.per_page))
        run, end = [same[0]], same[0].offset + same[0].per_page
        for p in same[1:]:
            if p.offset <= end:
                run.append(p)
                end = max(end, p.offset + p.per_page)
            else:
                runs.append((ordering, run))
                run, end = [p], p.offset + p.per_page
        runs.append((ordering, run))
    return runs


def _count_capped(qs: QuerySet[Product]) -> int:
    return qs.order_by()[: COUNT_CAP + 1].count()


# Sorts whose order a category's listings can be read in from an index leading with the category
# (product_listed_price_idx, product_listed_newest_idx): a category page with subcategories reads each one's
# first rows in order and merges them, where one query over all of them walked the whole catalog's price or
# date index past every listing of other categories (234k rows, 2.5 s, at 1M listings, for a price sort).
MERGED_ORDERINGS = ("newest", "price_asc", "price_desc")


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
