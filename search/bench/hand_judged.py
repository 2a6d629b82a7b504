"""The hand-judged search set (search/judged/): listings written by hand, queries graded by hand.

``listings.psv`` holds about 300 listings as sellers write them, each with labels a person
assigned from what the item is; ``queries.psv`` grades each query by rules over those labels
(the grading rules are stated at the top of that file). Nothing here comes from the demo
generator, so the figures measure the search a shopper gets, not the generator's own words.

``load_catalog`` writes the shops, categories and listings into an empty database;
``grades_for`` gives every listing's grade for a query; the benchmark scores the ranked ids.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import User
from catalog.models import Category, Product
from catalog.stock import create_implicit_offerings
from shops.models import Shop

JUDGED_DIR = Path(__file__).resolve().parent.parent / "judged"


@dataclass(frozen=True)
class HandListing:
    ref: str
    shop: str
    category: str
    is_vintage: bool
    price: Decimal
    quantity: int
    labels: frozenset[str]
    title: str
    tags: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class HandQuery:
    q: str
    group: str
    exact: str  # grade-2 rule
    partial: str  # grade-1 rule

    @property
    def expect_none(self) -> bool:
        return self.group == "none"


def _rows(name: str) -> list[list[str]]:
    lines = (JUDGED_DIR / name).read_text(encoding="utf-8").splitlines()
    return [line.split("|") for line in lines if line.strip() and not line.startswith("#")]


def load_listings() -> list[HandListing]:
    return [
        HandListing(
            ref=ref,
            shop=shop,
            category=category,
            is_vintage=vintage == "y",
            price=Decimal(price),
            quantity=int(quantity),
            labels=frozenset(labels.split()),
            title=title,
            tags=tuple(t.strip() for t in tags.split(";") if t.strip()),
            description=description,
        )
        for ref, shop, category, vintage, price, quantity, labels, title, tags, description in _rows("listings.psv")
    ]


def load_queries() -> list[HandQuery]:
    rows = _rows("queries.psv")
    return [HandQuery(q=q, group=group, exact=exact, partial=partial) for q, group, exact, partial in rows]


# --- the grading rules: words (labels), shop:KEY, cat:SLUG, ref:LNNN with & / ! and parentheses ---------

_TOKEN = re.compile(r"\s*(?:([&/!()])|([\w:-]+))")


def matches(rule: str, listing: HandListing) -> bool:
    """Return whether the listing satisfies a grading rule (an empty rule matches nothing)."""
    tokens = [op or atom for op, atom in _TOKEN.findall(rule)]
    if not tokens:
        return False
    position = 0

    def atom(token: str) -> bool:
        kind, _, value = token.partition(":")
        if value:
            return {"shop": listing.shop, "cat": listing.category, "ref": listing.ref}[kind] == value
        return token in listing.labels

    def parse_or() -> bool:
        value = parse_and()
        while position < len(tokens) and tokens[position] == "/":
            advance()
            value = parse_and() or value
        return value

    def parse_and() -> bool:
        value = parse_not()
        while position < len(tokens) and tokens[position] == "&":
            advance()
            value = parse_not() and value
        return value

    def parse_not() -> bool:
        token = advance()
        if token == "!":
            return not parse_not()
        if token == "(":
            value = parse_or()
            if advance() != ")":
                raise ValueError(f"unbalanced parentheses in {rule!r}")
            return value
        return atom(token)

    def advance() -> str:
        nonlocal position
        if position >= len(tokens):
            raise ValueError(f"rule ends early: {rule!r}")
        position += 1
        return tokens[position - 1]

    value = parse_or()
    if position != len(tokens):
        raise ValueError(f"unexpected {tokens[position]!r} in {rule!r}")
    return value


def grade(query: HandQuery, listing: HandListing) -> int:
    """2 exact, 1 partial, 0 otherwise; a sold-out listing is never a good answer."""
    if query.expect_none or listing.quantity <= 0:
        return 0
    if matches(query.exact, listing):
        return 2
    return 1 if matches(query.partial, listing) else 0


# --- loading ----------------------------------------------------------------------------------------------


@transaction.atomic
def load_catalog() -> dict[int, HandListing]:
    """Write the hand-written shops, categories and listings; return the listings by product id.

    Listings are bulk inserted (no signals: no cache or Celery traffic); the search triggers
    still index them. Ages are spread over a year, in the order of the file.
    """
    categories: dict[str, Category] = {}
    for position, (slug, name, parent) in enumerate(_rows("categories.psv")):
        categories[slug] = Category.objects.create(
            slug=slug, name=name, parent=categories[parent] if parent else None, position=position
        )
    shops: dict[str, Shop] = {}
    for key, name, location, rating, sales in _rows("shops.psv"):
        owner = User.objects.create_user(email=f"{key}@judged.test", password=None, display_name=name)
        shops[key] = Shop.objects.create(
            owner=owner,
            name=name,
            slug=slugify(name),
            location=location,
            rating=Decimal(rating),
            sales_count=int(sales),
        )
    listings = load_listings()
    products = Product.objects.bulk_create(
        [
            Product(
                shop=shops[item.shop],
                category=categories[item.category],
                title=item.title,
                slug=slugify(item.title)[:200],
                description=item.description,
                price=item.price,
                quantity=item.quantity,
                tags=list(item.tags),
                is_vintage=item.is_vintage,
            )
            for item in listings
        ]
    )
    create_implicit_offerings(product_ids=[product.pk for product in products])
    now = timezone.now()
    for index, product in enumerate(products):
        # Deterministic spread of ages (days), so recency neither helps nor hurts one group of listings.
        Product.objects.filter(pk=product.pk).update(created_at=now - timedelta(days=(index * 37) % 365))
    return {product.pk: item for product, item in zip(products, listings, strict=True)}


# --- scoring ----------------------------------------------------------------------------------------------


@dataclass
class HandScore:
    ndcg: float
    reciprocal_rank: float | None  # None when no listing deserves a 2
    returned: int
    sold_out_shown: int


def score(query: HandQuery, ranked_ids: list[int], total: int, catalog: dict[int, HandListing], k: int) -> HandScore:
    """nDCG@k (gains 2/1, log2 discount, ideal = the best k grades of the catalog), reciprocal rank, counts."""
    sold_out = sum(1 for pk in ranked_ids if pk in catalog and catalog[pk].quantity <= 0)
    if query.expect_none:
        return HandScore(ndcg=1.0 if total == 0 else 0.0, reciprocal_rank=None, returned=total, sold_out_shown=sold_out)
    grades = [grade(query, catalog[pk]) if pk in catalog else 0 for pk in ranked_ids[:k]]
    ideal_grades = sorted((grade(query, listing) for listing in catalog.values()), reverse=True)[:k]
    ideal = _dcg(ideal_grades)
    ndcg = _dcg(grades) / ideal if ideal else (1.0 if total == 0 else 0.0)
    reciprocal = None
    if 2 in ideal_grades:
        reciprocal = next((1 / rank for rank, g in enumerate(grades, start=1) if g == 2), 0.0)
    return HandScore(ndcg=ndcg, reciprocal_rank=reciprocal, returned=total, sold_out_shown=sold_out)


def _dcg(grades: list[int]) -> float:
    return sum(g / math.log2(rank + 2) for rank, g in enumerate(grades))
