"""A product page's signature: digests of what its cached shell shows, from the context it was rendered with or
read from the database for many pages at once (the refresher's check of due pages, ``catalog.views.product``)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from catalog import extensions
from catalog.models import Category, Product
from catalog.selectors.choices import ListingChoices, read_listing_choices
from catalog.selectors.listings import _PICTURE_FIELDS, LISTING_CARD_FIELDS, _read_pictures
from catalog.selectors.similar import choose_similar_ids, list_similar_candidates
from shops.selectors import SHOP_CARD_FIELDS, shop_card_row

# The parts of a signature, in order: a check that finds some changed drops only their cached records.
PAGE_PARTS = ("product", "choices", "shop", "reviews", "breadcrumb", "similar")
REVIEWS_ON_PAGE = 3
SIMILAR_ON_PAGE = 8
# What the page shows of its listing (``catalog/product_detail.html``, the record's buy-box product), with its
# pictures and whether it is sold out.
PRODUCT_PAGE_FIELDS = (
    "pk",
    "slug",
    "title",
    "description",
    "price",
    "has_price_range",
    "is_vintage",
    "tags",
    "quantity",
    "category_id",
    "shop_id",
)


# The columns a check reads of a listing, its category and its shop: what the page shows, its choices' ask, and what
# its similar candidates are drawn from when their cached list has expired (``similar._fetch_candidates``).
_PRODUCT_COLUMNS = (
    *(name.removesuffix("_id") for name in PRODUCT_PAGE_FIELDS if name != "pk"),
    "personalization",
    "personalization_prompt",
    "personalization_max_length",
    "category__path",
    "category__parent",
    *(f"shop__{name}" for name in SHOP_CARD_FIELDS if name != "pk"),
)


def product_page_signature(
    *,
    product: Product,
    images: list,
    shop,
    ancestors: list[Category],
    similar: list[Product],
    reviews: list,
    sold_out: bool,
    choices: ListingChoices,
) -> tuple[str, ...]:
    """The signature (a digest per ``PAGE_PARTS``) of a page rendered from these.

    :func:`read_product_page_signatures` reads the same from the database; equal parts mean an equal page.
    """
    return (
        _digest(_product_row(product, map(_picture_row, images), sold_out)),
        _digest(choices),
        _digest(shop_card_row(shop)),
        _digest([_review_row(review) for review in reviews]),
        _digest([(c.pk, c.slug, c.name) for c in ancestors]),
        _digest([_card_row(p, map(_picture_row, p.images.all())) for p in similar]),
    )


def read_product_page_signatures(product_ids: list[int]) -> list[tuple[str, ...] | None]:
    """Return :func:`product_page_signature` of each listing's page as the database has it now (None: a listing
    nobody may see), without building the pages.

    Narrow reads for all of them together, no rendering: the listings with their categories and shops, their
    choices, their shops' latest reviews, their breadcrumbs' names, the cards of their similar items (whose ids
    are cached 15 minutes, as the pages read them) and every picture: six queries for a wave of due pages.
    """
    listed = Product.objects.listed().select_related("category", "shop").filter(pk__in=product_ids)
    products = {p.pk: p for p in listed.only(*_PRODUCT_COLUMNS)}
    found = list(products.values())
    choices = read_listing_choices(products=found)
    reviews = extensions.list_latest_reviews_of_shops(
        shop_ids=sorted({p.shop_id for p in found}), limit=REVIEWS_ON_PAGE
    )
    paths = {p.pk: [int(x) for x in p.category.path.strip("/").split("/") if x] for p in found}
    wanted = sorted({pk for path in paths.values() for pk in path})
    categories = {row[0]: row for row in Category.objects.filter(pk__in=wanted).values_list("pk", "slug", "name")}
    candidates = list_similar_candidates(products=found, limit=SIMILAR_ON_PAGE)
    chosen = {
        p.pk: choose_similar_ids(
            p, candidates.get(p.pk, ([], {})), limit=SIMILAR_ON_PAGE, same_shop_first=p.is_sold_out
        )
        for p in found
    }
    card_ids = sorted({pk for ids in chosen.values() for pk in ids})
    n = len(LISTING_CARD_FIELDS)
    card_fields = (*LISTING_CARD_FIELDS, "shop__name", "shop__rating")
    cards = {row[0]: row for row in Product.objects.listed().filter(pk__in=card_ids).values_list(*card_fields)}
    pictures: dict[int, list[tuple]] = {}
    for product_id, *picture in _read_pictures(sorted(products.keys() | cards.keys())):
        pictures.setdefault(product_id, []).append(tuple(picture))
    signatures = {}
    quantity = LISTING_CARD_FIELDS.index("quantity")
    for p in found:
        similar = [cards[pk] for pk in chosen[p.pk] if pk in cards and cards[pk][quantity] > 0][:SIMILAR_ON_PAGE]
        signatures[p.pk] = (
            _digest(_product_row(p, pictures.get(p.pk, ()), p.is_sold_out)),
            _digest(choices[p.pk]),
            _digest(shop_card_row(p.shop)),
            _digest([_review_row(review) for review in reviews.get(p.shop_id, [])]),
            _digest([categories[pk] for pk in paths[p.pk] if pk in categories]),
            _digest([(row[:n], *row[n:], tuple(pictures.get(row[0], ()))) for row in similar]),
        )
    return [signatures.get(pk) for pk in product_ids]


def changed_parts(old: tuple[str, ...] | None, new: tuple[str, ...] | None) -> list[str]:
    """The ``PAGE_PARTS`` whose digests differ (every part when either signature is missing)."""
    if old is None or new is None or len(old) != len(new):
        return list(PAGE_PARTS)
    return [part for part, a, b in zip(PAGE_PARTS, old, new, strict=True) if a != b]


def _digest(value) -> str:
    return hashlib.blake2b(repr(value).encode(), digest_size=8).hexdigest()


def _picture_row(image) -> tuple:
    return tuple(getattr(value, "name", value) for value in (getattr(image, name) for name in _PICTURE_FIELDS))


def _product_row(product: Product, pictures: Iterable[tuple], sold_out: bool) -> tuple:
    return (tuple(getattr(product, name) for name in PRODUCT_PAGE_FIELDS), bool(sold_out), tuple(pictures))


def _card_row(product: Product, pictures: Iterable[tuple]) -> tuple:
    """What a listing's card shows (``catalog/_card.html``), as a category page's signature reads it: its
    ``LISTING_CARD_FIELDS``, its shop's name and rating, its pictures."""
    fields = tuple(getattr(product, name) for name in LISTING_CARD_FIELDS)
    return (fields, product.shop.name, product.shop.rating, tuple(pictures))


def _review_row(review) -> tuple:
    """What ``shops/_reviews.html`` shows of a review."""
    return (
        review.pk,
        review.rating,
        review.reviewer.public_name,
        review.created_at,
        review.comment,
        review.seller_reply,
    )
