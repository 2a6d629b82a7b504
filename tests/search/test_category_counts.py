"""Materialised per-category counts (search migration 0010) agree with a live count after every kind of write."""

import threading
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction

from catalog.models import Product
from search import caching
from search.backends.postgres import query as postgres
from search.backends.postgres.counts import compact_category_counts
from search.selectors import search_products
from search.types import SearchParams
from tests.catalog.factories import CategoryFactory, ProductFactory
from tests.shops.factories import ShopFactory

_MATERIALISED = """
SELECT category_id, is_vintage, price_dollars, sum(listings) FROM search_category_count
 GROUP BY 1, 2, 3 HAVING sum(listings) <> 0 ORDER BY 1, 2, 3
"""
_LIVE = """
SELECT category_id, is_vintage, least(floor(price), 10000)::int, count(*) FROM search_listing
 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""


def _rows(sql: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def _assert_counts_agree() -> None:
    assert _rows(_MATERIALISED) == _rows(_LIVE)


def browse(**kwargs):
    caching.bump_listings_version()
    return search_products(params=SearchParams(**kwargs))


@pytest.mark.django_db
def test_counts_follow_every_write_that_moves_a_listing_in_or_out_of_search(make_listing):
    rings, mugs = CategoryFactory(name="Rings"), CategoryFactory(name="Mugs")
    listings = [make_listing(f"Ring {i}", category=rings, price=str(10 + 20 * i)) for i in range(5)]
    mug = make_listing("Mug", category=mugs, price="24.99", is_vintage=True)
    _assert_counts_agree()

    Product.objects.filter(pk=listings[0].pk).update(quantity=0)  # sold out
    Product.objects.filter(pk=listings[1].pk).update(price=Decimal("99.99"))  # another dollar row
    Product.objects.filter(pk=listings[2].pk).update(category=mugs)  # moved
    Product.objects.filter(pk=mug.pk).update(is_vintage=False)
    Product.objects.filter(pk=listings[3].pk).delete()
    _assert_counts_agree()

    Product.objects.filter(pk=listings[0].pk).update(quantity=3)  # restocked
    listings[4].shop.is_active = False
    listings[4].shop.save()  # the shop closes: all its listings leave
    _assert_counts_agree()
    listings[4].shop.is_active = True
    listings[4].shop.save()
    _assert_counts_agree()

    compact_category_counts()
    _assert_counts_agree()
    assert _rows(
        "SELECT count(*) = count(DISTINCT (category_id, is_vintage, price_dollars)) FROM search_category_count"
    ) == [(True,)]
    assert _rows("SELECT count(*) FROM search_category_count WHERE listings = 0") == [(0,)]


@pytest.mark.django_db
def test_browse_totals_and_facets_from_the_counts_equal_a_live_count(make_listing):
    jewelry = CategoryFactory(name="Jewelry")
    rings, necklaces = CategoryFactory(name="Rings", parent=jewelry), CategoryFactory(name="Necklaces", parent=jewelry)
    other = CategoryFactory(name="Mugs")
    prices = ["5", "24.99", "25", "49.99", "50", "99.99", "100", "250", "12"]
    for i, price in enumerate(prices):
        make_listing(f"Piece {i}", price=price, category=(rings, necklaces, other)[i % 3], is_vintage=i % 2 == 0)
    make_listing("Sold out ring", category=rings, quantity=0)

    for filters in (
        {},
        {"category": jewelry.slug},
        {"category": rings.slug, "vintage": True},
        {"price_range": "25-50"},
    ):
        counted = browse(**filters)
        live = browse(**filters, price_min=Decimal("0"))  # a price bound the counts do not answer: counted live
        assert counted.total == live.total > 0, filters
        assert counted.categories == live.categories, filters
        assert counted.price_ranges == live.price_ranges, filters
        assert [p.pk for p in counted.hits] == [p.pk for p in live.hits], filters
    assert [f.count for f in browse().price_ranges] == [3, 2, 2, 2]
    assert browse(category=jewelry.slug).total == 6


@pytest.mark.django_db
def test_browse_ranks_only_the_newest_candidates_of_its_filter(make_listing, monkeypatch):
    monkeypatch.setattr(postgres, "BROWSE_CANDIDATES", 2)
    top_shop = ShopFactory(rating=Decimal("5.0"), sales_count=5000)
    make_listing("Old listing of the best shop", shop=top_shop, age_days=300)
    for age in (1, 2, 3):
        make_listing(f"Listing {age} days old", age_days=age)

    shown = [p.title for p in browse(per_page=2).hits]
    monkeypatch.setattr(postgres, "BROWSE_CANDIDATES", 100)
    unbounded = [p.title for p in browse(per_page=2).hits]

    assert sorted(shown) == ["Listing 1 days old", "Listing 2 days old"]
    assert unbounded[0] == "Old listing of the best shop"  # what ranking every listing would show first
    assert browse(per_page=2).total == 4
    assert len(browse(per_page=2, page=2).hits) == 2  # a deeper page widens the candidates


@pytest.mark.django_db(transaction=True)
def test_writers_in_one_category_never_wait_for_each_other_on_the_counts():
    category = CategoryFactory(name="Rings")
    shop = ShopFactory()
    held = threading.Event()
    release = threading.Event()
    finished = {}

    def first_writer():
        try:
            with transaction.atomic():
                ProductFactory(title="Ring one", category=category, shop=shop, price=Decimal("30"))
                held.set()
                release.wait(10)
        finally:
            connections.close_all()

    def second_writer():
        try:
            with transaction.atomic():
                ProductFactory(title="Ring two", category=category, shop=shop, price=Decimal("30"))
            finished["second"] = True
        finally:
            connections.close_all()

    first = threading.Thread(target=first_writer)
    first.start()
    assert held.wait(10)
    second = threading.Thread(target=second_writer)
    second.start()
    second.join(5)  # the first still holds its transaction open
    finished_while_first_open = finished.get("second", False)
    release.set()
    first.join(10)
    second.join(10)

    assert finished_while_first_open
    _assert_counts_agree()
    assert browse(category=category.slug).total == 2


@pytest.mark.django_db
def test_the_scheduled_compaction_keeps_the_counts_and_runs_twice_as_once(make_listing):
    from search.tasks import compact_search_category_counts

    category = CategoryFactory(name="Mugs")
    for i in range(3):
        make_listing(f"Mug {i}", category=category, price="12.50")
    Product.objects.filter(title="Mug 0").update(quantity=0)

    compact_search_category_counts.apply()
    once = _rows("SELECT category_id, is_vintage, price_dollars, listings FROM search_category_count ORDER BY 1, 2, 3")
    compact_search_category_counts.apply()

    assert once == _rows(
        "SELECT category_id, is_vintage, price_dollars, listings FROM search_category_count ORDER BY 1, 2, 3"
    )
    assert (category.pk, False, 12, 2) in once
    _assert_counts_agree()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("sort", "key"),
    [
        ("newest", lambda p: (-p.created_at.timestamp(), -p.pk)),
        ("price_asc", lambda p: (p.price, p.pk)),
        ("price_desc", lambda p: (-p.price, -p.pk)),
    ],
)
def test_browsing_a_category_merges_its_subcategories_in_the_order_asked(make_listing, sort, key):
    home = CategoryFactory(name="Home")
    mugs, vases = CategoryFactory(name="Mugs", parent=home), CategoryFactory(name="Vases", parent=home)
    outside = CategoryFactory(name="Rings")
    made = [
        make_listing(f"Piece {i}", category=(mugs, vases)[i % 2], price=str(5 + (i * 7) % 23), age_days=i + 1)
        for i in range(9)
    ]
    make_listing("Elsewhere", category=outside, price="1", age_days=0)

    pages = [[p.pk for p in browse(category=home.slug, sort=sort, per_page=4, page=n).hits] for n in (1, 2, 3)]

    assert pages == [[p.pk for p in sorted(made, key=key)][i : i + 4] for i in (0, 4, 8)]
