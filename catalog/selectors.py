"""Catalog reads: listings, categories, product detail, similar items, favorites, feed.

Reads that pages hit on every request are cached through ``etsy.cache`` (cache-aside
with a stampede lock); their keys are invalidated by ``catalog.receivers``.
Every list returned for rendering is already ``select_related``/prefetched.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from functools import partial

from django.db.models import Case, Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from catalog import extensions
from catalog.exceptions import CategoryNotFound, OfferingNotFound, OfferingUnavailable, ProductNotFound
from catalog.models import (
    Category,
    Favorite,
    Offering,
    Personalization,
    Product,
    ProductImage,
    StockWords,
    Variation,
)
from etsy import cache

# Public sort names -> ORDER BY. Unknown names fall back to "newest" (bad input is not an error here).
ORDERINGS: dict[str, tuple[str, ...]] = {
    "newest": ("-created_at", "-id"),
    "price_asc": ("price", "id"),
    "price_desc": ("-price", "-id"),
    "popular": ("-favorite_count", "-view_count", "-id"),
}
DEFAULT_ORDERING = "newest"
SIMILAR_PER_SHOP = 2
SIMILAR_SPARE = 4  # candidates beyond the limit, for pieces sold since the list was cached


def _images_prefetch() -> Prefetch:
    return Prefetch("images", queryset=ProductImage.objects.order_by("position", "id"))


def _visible_products() -> QuerySet[Product]:
    return Product.objects.listed()


def _card_queryset() -> QuerySet[Product]:
    """Products ready to render as cards: shop, category and gallery loaded."""
    return _visible_products().select_related("shop", "category").prefetch_related(_images_prefetch())


# --- categories ------------------------------------------------------------------------


@dataclass
class CategoryTree:
    roots: list[Category]
    by_slug: dict[str, Category]
    by_id: dict[int, Category]
    build_id: str = ""


def _build_category_tree() -> CategoryTree:
    nodes = list(Category.objects.order_by("position", "name"))
    by_id = {c.pk: c for c in nodes}
    for c in nodes:
        c.tree_children = []
    roots = []
    for c in nodes:
        parent = by_id.get(c.parent_id) if c.parent_id else None
        (parent.tree_children if parent else roots).append(c)
    tree = CategoryTree(roots=roots, by_slug={c.slug: c for c in nodes}, by_id=by_id, build_id=secrets.token_hex(8))
    # Published before the tree itself is stored: a process that sees this id and has no tree
    # of that build reads the tree key (and waits on the build lock if it is not there yet).
    # It outlives the tree (a rebuild replaces it), so an expired id never hides a cached tree.
    cache.set(cache.CATEGORY_TREE_BUILD_KEY, tree.build_id, ttl=2 * cache.TTL["category_tree"])
    return tree


_local_tree: CategoryTree | None = None


def get_category_tree() -> CategoryTree:
    """Return the whole category tree (cached 1 hour; categories change rarely).

    Each process keeps the tree it read last and reuses it while Redis still names the
    same build, instead of reading and unpickling every category, which a category page and
    a product page rebuild each ask for several times. The build id itself is near-cached
    (``etsy.near_cache``): a warm process makes no round trip at all. Invalidation
    (``catalog.receivers.invalidate_categories``) deletes the build id with the tree; Redis
    tells every process, so each reads the new tree on its next call.
    """
    global _local_tree
    if not cache.is_enabled():
        return _build_category_tree()
    local = _local_tree
    if local is not None:
        key = cache.CATEGORY_TREE_BUILD_KEY
        found = cache.read_with([key], near_keys=(key,))
        if found is not None and found.get(key) == local.build_id:
            return local
    tree = cache.cache_aside(
        cache.CATEGORY_TREE_KEY, _build_category_tree, ttl=cache.TTL["category_tree"], cache_type="category"
    )
    _local_tree = tree
    return tree


def list_categories_tree() -> list[Category]:
    """Return the root categories; each node has ``tree_children`` (no further queries)."""
    return get_category_tree().roots


def get_category(*, slug: str) -> Category:
    """Return the category with ``slug``. Raises CategoryNotFound."""
    category = get_category_tree().by_slug.get(slug)
    if category is None:
        # A category added since the tree was cached (its invalidation lost with Redis): rebuild once.
        if not Category.objects.filter(slug=slug).exists():
            raise CategoryNotFound()
        cache.delete(cache.CATEGORY_TREE_KEY, cache.CATEGORY_TREE_BUILD_KEY)
        category = get_category_tree().by_slug.get(slug)
        if category is None:
            raise CategoryNotFound()
    return category


def list_category_ids(*, category: Category) -> list[int]:
    """Return the ids of ``category`` and every category below it (a category's listings include its subcategories').

    Read from the cached tree: a listing query filters on these ids, which its indexes lead with, instead of
    joining the category table on its path.
    """
    ids, todo = [], [get_category_tree().by_id.get(category.pk, category)]
    while todo:
        node = todo.pop()
        ids.append(node.pk)
        todo.extend(getattr(node, "tree_children", ()))
    return sorted(ids)


def list_category_ancestors(*, category: Category) -> list[Category]:
    """Return the breadcrumb from the root down to ``category`` (inclusive)."""
    by_id = get_category_tree().by_id
    ids = [int(x) for x in category.path.strip("/").split("/") if x]
    return [by_id[i] for i in ids if i in by_id]


# --- listings --------------------------------------------------------------------------


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


# --- one product -----------------------------------------------------------------------


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


# --- offerings: what a buyer's choice resolves to ------------------------------------------
#
# The contract every adapter that sells shares (cart API, cart form, product page):
#   HTML form fields posted to the cart's add view: ``product`` (listing id), ``options`` (repeated, one
#   VariationOption id per variation property), ``offering`` (optional: an offering id instead of the
#   options), ``quantity``, ``personalization``.
#   API (POST /api/v1/cart/items): ``offering_id`` (or ``product_id`` for a listing without variations),
#   ``quantity``, ``personalization``.
# Both resolve through ``get_offering_for_choice`` / ``get_offering`` below; listing visibility (listed, or
# reserved for this buyer) is the caller's rule (``Product.is_listed_for``), stock and holds the cart's.


def _offering_queryset() -> QuerySet[Offering]:
    return Offering.objects.select_related("product", "option1__variation", "option2__variation")


def check_offering_available(offering: Offering, *, include_sold_out: bool = False) -> Offering:
    if not offering.is_enabled:
        raise OfferingUnavailable(
            "That choice is switched off by the seller.",
            extra={"offering_id": offering.pk, "product_id": offering.product_id, "reason": "switched_off"},
        )
    if not include_sold_out and offering.quantity <= 0:
        raise OfferingUnavailable(
            "That choice is sold out.",
            extra={"offering_id": offering.pk, "product_id": offering.product_id, "reason": "sold_out"},
        )
    return offering


def _as_ids(values: Sequence) -> list[int] | None:
    ids = []
    for value in values:
        if isinstance(value, bool):
            return None
        try:
            ids.append(int(value))
        except (TypeError, ValueError):
            return None
    return ids


def _choice_ids(product_id, option_ids: Sequence) -> tuple[int, list[int]]:
    ids = _as_ids(option_ids)
    try:
        product_id = int(product_id)
    except (TypeError, ValueError):
        ids = None
    if ids is None or len(ids) != len(set(ids)) or len(ids) > Variation.MAX_PER_LISTING:
        raise OfferingNotFound(extra={"product_id": product_id})
    return product_id, ids


def list_offerings_for_choice(*, product_id: int, option_ids: Sequence[int] = ()) -> QuerySet[Offering]:
    """Return the listing's offerings (at most one) that carry exactly the chosen options, one per variation
    property; a listing without variations: its implicit offering. With listing and options loaded.

    The one home of "which offering is this choice" (``get_offering_for_choice`` asks it; the cart's locking
    read asks ``offering_choice_sql``, its hand-written twin). Raises OfferingNotFound for malformed input (not
    ids, an option twice, more than two).
    """
    product_id, ids = _choice_ids(product_id, option_ids)
    # The offering must carry exactly the chosen options and the listing exactly that many properties, so a
    # stale option-less offering of a listing that has since gained variations is never picked.
    variation_count = Subquery(
        Variation.objects.filter(product_id=OuterRef("product_id"))
        .values("product_id")
        .annotate(n=Count("id"))
        .values("n"),
        output_field=IntegerField(),
    )
    candidates = _offering_queryset().filter(product_id=product_id)
    if not ids:
        candidates = candidates.filter(option1__isnull=True, option2__isnull=True)
    elif len(ids) == 1:
        candidates = candidates.filter(option1_id=ids[0], option2__isnull=True)
    else:
        first, second = ids
        candidates = candidates.filter(Q(option1_id=first, option2_id=second) | Q(option1_id=second, option2_id=first))
    return candidates.alias(variation_count=Coalesce(variation_count, Value(0))).filter(variation_count=len(ids))


def offering_choice_sql(*, product_id: int, option_ids: Sequence[int] = (), offering: str = "o") -> tuple[str, list]:
    """``list_offerings_for_choice`` as a SQL condition over the offering row aliased ``offering``, with its
    parameters, for hand-written reads (``catalog.stock.lock_offering_with_listing``): the ORM took longer to
    build that read than PostgreSQL to answer it. tests/catalog/test_offering_choice_sql.py checks that the two
    pick the same offering. Raises OfferingNotFound for malformed input, as the queryset does.
    """
    product_id, ids = _choice_ids(product_id, option_ids)
    o = offering
    if not ids:
        options, params = f"{o}.option1_id IS NULL AND {o}.option2_id IS NULL", []
    elif len(ids) == 1:
        options, params = f"{o}.option1_id = %s AND {o}.option2_id IS NULL", ids
    else:
        options = f"(({o}.option1_id = %s AND {o}.option2_id = %s) OR ({o}.option1_id = %s AND {o}.option2_id = %s))"
        params = [ids[0], ids[1], ids[1], ids[0]]
    # Exactly as many variation properties as options chosen (see list_offerings_for_choice).
    condition = (
        f"{o}.product_id = %s AND {options} AND (SELECT COUNT(*) FROM {Variation._meta.db_table} AS v"
        f" WHERE v.product_id = {o}.product_id) = %s"
    )
    return condition, [product_id, *params, len(ids)]


def get_offering_for_choice(
    *, product_id: int, option_ids: Sequence[int] = (), include_sold_out: bool = False
) -> Offering:
    """Return the switched-on offering of the listing for the buyer's options (one per variation property).

    A listing without variations resolves to its implicit offering with no options. One query; the
    offering comes with its listing and its options' properties (``options_label`` reads them).
    Raises OfferingNotFound (no such combination, an option of another listing, a property left
    unchosen or chosen twice), OfferingUnavailable (switched off; sold out unless ``include_sold_out``).
    """
    offering = list_offerings_for_choice(product_id=product_id, option_ids=option_ids).first()
    if offering is None:
        raise OfferingNotFound(extra={"product_id": product_id})
    return check_offering_available(offering, include_sold_out=include_sold_out)


def get_offering(*, offering_id: int, product_id: int | None = None, include_sold_out: bool = False) -> Offering:
    """Return a switched-on offering by id (of ``product_id`` when given), with its listing and options.

    Raises OfferingNotFound (unknown, or of another listing), OfferingUnavailable (switched off; sold out
    unless ``include_sold_out``).
    """
    try:
        offering_id = int(offering_id)
    except (TypeError, ValueError):
        raise OfferingNotFound(extra={"product_id": product_id}) from None
    offerings = _offering_queryset().filter(pk=offering_id)
    if product_id is not None:
        offerings = offerings.filter(product_id=product_id)
    offering = offerings.first()
    if offering is None:
        raise OfferingNotFound("That choice does not exist for this item.", extra={"product_id": product_id})
    return check_offering_available(offering, include_sold_out=include_sold_out)


def list_offerings(*, product_id: int) -> list[Offering]:
    """Return the listing's offerings (switched off ones too) with their options, in option order."""
    return list(
        _offering_queryset()
        .filter(product_id=product_id)
        .order_by("option1__position", "option1_id", "option2__position", "option2_id", "id")
    )


def list_variations(*, product_id: int) -> list[Variation]:
    """Return the listing's variation properties in order, each with its options prefetched in order."""
    return list(Variation.objects.filter(product_id=product_id).prefetch_related("options").order_by("position"))


@dataclass(frozen=True)
class OfferingStock(StockWords):
    """Live stock, price and hold of one offering, as buyers see it (read with its listing's ``Inventory``).

    ``label`` is ``Offering.options_label`` computed in SQL (a test holds that they agree).
    """

    id: int
    quantity: int
    price: Decimal
    is_enabled: bool = True
    label: str = ""
    sku: str = ""
    reserved_by_user_id: int | None = None
    reserved_until: datetime | None = None

    def is_reserved_for_other(self, user_id: int | None) -> bool:
        return (
            self.reserved_until is not None
            and self.reserved_until > timezone.now()
            and self.reserved_by_user_id != user_id
        )


@dataclass(frozen=True)
class Inventory(StockWords):
    """Live stock of one product: quantity and the latest active reservation, if any, and per offering."""

    quantity: int
    reserved_by_user_id: int | None = None
    reserved_until: datetime | None = None
    offerings: dict[int, OfferingStock] = field(default_factory=dict)

    def get_offering(self, offering_id: int | None) -> OfferingStock | None:
        """Return the live stock of one of the listing's offerings (None: not one of its offerings any more)."""
        return self.offerings.get(offering_id) if offering_id is not None else None

    def is_reserved_for_other(self, user_id: int | None) -> bool:
        return (
            self.reserved_until is not None
            and self.reserved_until > timezone.now()
            and self.reserved_by_user_id != user_id
        )

    def is_held_by(self, user_id: int | None) -> bool:
        """Return whether ``user_id`` (a signed-in buyer) holds the item right now."""
        return (
            user_id is not None
            and self.reserved_until is not None
            and self.reserved_until > timezone.now()
            and self.reserved_by_user_id == user_id
        )


def _fetch_inventories(product_ids: list[int]) -> dict[int, Inventory]:
    """Read stock and live holds; holds are cart lines, so the cart app supplies the reader (catalog.extensions)."""
    return extensions.fetch_inventories(product_ids)


def get_inventory(*, product_id: int, known_missing: bool = False) -> Inventory:
    """Return the product's stock and reservation (cached 30 s, invalidated on sale and cart holds).

    Reservations are stored on cart lines; reading them here keeps "in another buyer's
    cart" on the product page without the catalog writing anything. One query, no lock:
    it is a primary-key read refreshed every 30 s for every product page.
    """
    return cache.cache_aside(
        cache.inventory_key(product_id),
        lambda: _fetch_inventories([product_id])[product_id],
        ttl=cache.TTL["inventory"],
        cache_type="inventory",
        known_missing=known_missing,
        lock=False,
    )


def get_inventories(*, product_ids: list[int], found: dict | None = None) -> dict[int, Inventory]:
    """Return the stock and reservation of several products (cached 30 s; one query for the misses).

    ``found``: the caller's read of these keys (``cache.cache_aside_many``).
    """
    return cache.cache_aside_many(
        product_ids,
        key=cache.inventory_key,
        fetch=_fetch_inventories,
        ttl=cache.TTL["inventory"],
        cache_type="inventory",
        found=found,
    )


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


def list_similar_products(*, product: Product, limit: int = 8, same_shop_first: bool = False) -> list[Product]:
    """Return in-stock listings like ``product``: same category, shared tags first, spread across shops.

    With ``same_shop_first`` (a sold listing) the maker's own similar pieces come first.
    """

    def fetch() -> tuple[list[int], dict[int, int]]:
        # Cheap on a large catalog: the maker's own pieces (shop index), then the category's
        # trending pool (cached 15 minutes) ranked by shared tags; no sort over a whole category.
        base = Product.objects.purchasable().exclude(pk=product.pk)
        same_category_first = Case(When(category_id=product.category_id, then=0), default=1)
        own = list(
            base.filter(shop_id=product.shop_id)
            .order_by(same_category_first, "-favorite_count", "-id")
            .values_list("id", "shop_id")[:4]
        )
        pool = _trending_ids(product.category_id)
        if len(pool) < limit * 2 and product.category.parent_id:
            pool = pool + [i for i in _trending_ids(product.category.parent_id) if i not in pool]
        tags = set(product.tags or [])
        rows = {pid: (sid, ptags) for pid, sid, ptags in base.filter(pk__in=pool).values_list("id", "shop_id", "tags")}
        order = {pid: n for n, pid in enumerate(pool)}
        ranked = sorted(rows, key=lambda pid: (-len(tags & set(rows[pid][1] or [])), order[pid]))
        candidates = own + [(pid, rows[pid][0]) for pid in ranked if pid not in dict(own)]
        return [pid for pid, _ in candidates], {pid: sid for pid, sid in candidates}

    ids, shops = cache.cache_aside(cache.similar_key(product.pk), fetch, ttl=cache.TTL["similar"], cache_type="similar")
    own = [i for i in ids if shops[i] == product.shop_id]
    others = [i for i in ids if shops[i] != product.shop_id]
    # A few spare candidates: the ids are kept 15 minutes, and a piece sold since is left out
    # (the cards come from the product cache, which a sale clears).
    wanted = limit + SIMILAR_SPARE
    chosen: list[int] = []
    if same_shop_first:
        chosen.extend(own[: limit // 2])
    per_shop: dict[int, int] = {}
    for pid in others:
        if len(chosen) >= wanted:
            break
        if per_shop.get(shops[pid], 0) < SIMILAR_PER_SHOP:
            per_shop[shops[pid]] = per_shop.get(shops[pid], 0) + 1
            chosen.append(pid)
    for pid in own + others:  # fill up when few shops sell this kind of thing
        if len(chosen) >= wanted:
            break
        if pid not in chosen:
            chosen.append(pid)
    return [p for p in list_products_by_ids(product_ids=chosen) if p.quantity > 0][:limit]


# --- the product page's choices: variation selects and personalisation ---------------------------


@dataclass(frozen=True)
class OptionChoice:
    pk: int
    value: str


@dataclass(frozen=True)
class PropertyChoice:
    """One variation property as the buy box offers it ("Size"), with the options some offering carries."""

    pk: int
    name: str
    options: tuple[OptionChoice, ...]


@dataclass(frozen=True)
class OfferingChoice(StockWords):
    """One offering as the page shows it: its options (in property order), price, stock, on or off."""

    pk: int
    option_ids: tuple[int, ...]
    label: str  # "Size: 7, Metal: Silver"
    price: Decimal
    quantity: int
    is_enabled: bool


class ChoiceState:
    INCOMPLETE = "incomplete"  # a property left unchosen
    MISSING = "missing"  # no offering has this combination
    SWITCHED_OFF = "switched_off"
    SOLD_OUT = "sold_out"
    RESERVED = "reserved"  # its one piece is held in another buyer's cart
    AVAILABLE = "available"


CHOICE_MESSAGES = {
    ChoiceState.MISSING: "That combination is not available. Choose another.",
    ChoiceState.SWITCHED_OFF: "That combination is not available. Choose another.",
    ChoiceState.SOLD_OUT: "That combination is sold out. Choose another.",
    ChoiceState.RESERVED: "Another buyer has that one in their cart right now; if they don't check out, it's yours.",
}


@dataclass(frozen=True)
class ListingChoices:
    """What a buyer chooses on a listing's page: its variation properties and offerings, and the
    personalisation it asks for. Kept with the listing's cached page (``get_listing_choices``)."""

    properties: tuple[PropertyChoice, ...]
    offerings: tuple[OfferingChoice, ...]
    personalization: str
    personalization_prompt: str
    personalization_max_length: int

    @property
    def has_variations(self) -> bool:
        return bool(self.properties)

    @property
    def asks_personalization(self) -> bool:
        return self.personalization != Personalization.NONE

    @property
    def requires_personalization(self) -> bool:
        return self.personalization == Personalization.REQUIRED

    def with_live_stock(self, inventory: Inventory) -> ListingChoices:
        """These choices with each offering's stock, price and switch as the live ``inventory`` has them (30 s,
        dropped on every sale and hold), fresher than the cached choices."""
        live = inventory.offerings
        if not live:
            return self
        offerings = tuple(
            replace(o, quantity=stock.quantity, price=stock.price, is_enabled=stock.is_enabled)
            if (stock := live.get(o.pk)) is not None
            else o
            for o in self.offerings
        )
        return replace(self, offerings=offerings)

    def chosen(self, option_ids) -> tuple[int | None, ...]:
        """The buyer's option per property, in property order (None where unchosen); stray ids are dropped."""
        wanted = set()
        for value in option_ids or ():
            try:
                wanted.add(int(value))
            except (TypeError, ValueError):
                continue
        return tuple(
            next((option.pk for option in prop.options if option.pk in wanted), None) for prop in self.properties
        )

    def find(self, option_ids) -> tuple[str, OfferingChoice | None]:
        """Return the state of the buyer's choice (``ChoiceState``) and the offering it names, if any."""
        chosen = self.chosen(option_ids)
        if None in chosen:
            return ChoiceState.INCOMPLETE, None
        offering = next((o for o in self.offerings if o.option_ids == chosen), None)
        if offering is None:
            return ChoiceState.MISSING, None
        if not offering.is_enabled:
            return ChoiceState.SWITCHED_OFF, offering
        if offering.is_sold_out:
            return ChoiceState.SOLD_OUT, offering
        return ChoiceState.AVAILABLE, offering


def _fetch_listing_choices(product: Product) -> ListingChoices:
    rows = list(
        Offering.objects.filter(product_id=product.pk)
        .select_related("option1__variation", "option2__variation")
        .order_by("id")
    )
    variations: dict[int, tuple] = {}
    options: dict[int, dict[int, tuple]] = {}
    for row in rows:
        for option in (row.option1, row.option2):
            if option is not None:
                variations[option.variation_id] = (option.variation.position, option.variation.name)
                options.setdefault(option.variation_id, {})[option.pk] = (option.position, option.value)
    properties = tuple(
        PropertyChoice(
            pk=vid,
            name=name,
            options=tuple(
                OptionChoice(pk=oid, value=value)
                for oid, (_, value) in sorted(options[vid].items(), key=lambda item: (item[1][0], item[0]))
            ),
        )
        for vid, (_, name) in sorted(variations.items(), key=lambda item: item[1][0])
    )
    order = [prop.pk for prop in properties]

    def in_property_order(row: Offering) -> tuple[int, ...]:
        chosen = [option for option in (row.option1, row.option2) if option is not None]
        return tuple(option.pk for option in sorted(chosen, key=lambda option: order.index(option.variation_id)))

    offerings = tuple(
        OfferingChoice(
            pk=row.pk,
            option_ids=in_property_order(row),
            label=row.options_label,
            price=row.price,
            quantity=row.quantity,
            is_enabled=row.is_enabled,
        )
        for row in rows
    )
    return ListingChoices(
        properties=properties,
        offerings=offerings,
        personalization=product.personalization,
        personalization_prompt=product.personalization_prompt,
        personalization_max_length=product.personalization_max_length,
    )


def get_listing_choices(*, product: Product) -> ListingChoices:
    """Return the listing's variation properties, offerings and personalisation ask (cached 5 minutes).

    One query on a miss. Dropped with the listing's other entries (``catalog.receivers``) when the listing,
    one of its offerings or options changes, or it sells.
    """
    return cache.cache_aside(
        cache.product_choices_key(product.pk),
        lambda: _fetch_listing_choices(product),
        ttl=cache.TTL["product"],
        cache_type="product",
    )


# --- trending and the home feed -------------------------------------------------------------


def _trending_ids(category_id: int | None) -> list[int]:
    from catalog.personalization import compute_trending_ids

    return cache.cache_aside(
        cache.trending_key(category_id),
        lambda: compute_trending_ids(category_id=category_id),
        ttl=cache.TTL["trending"],
        cache_type="trending",
    )


def list_trending_products(*, category_id: int | None = None, limit: int = 24) -> list[Product]:
    """Return trending in-stock listings (whole catalog or one category), cached 15 minutes."""
    return list_products_by_ids(product_ids=_trending_ids(category_id)[:limit])


def get_home_feed(*, user, session_key: str | None = None, limit: int = 24) -> list[Product]:
    """Return the buyer's home feed: personalized with 5+ views, else trending."""
    from catalog.personalization import get_personalized_feed

    return get_personalized_feed(user=user, session_key=session_key, limit=limit)


# --- favorites ------------------------------------------------------------------------------


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
