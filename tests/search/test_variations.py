"""Variation options in search (issue 22): searchable options, colour/size/material facets and filters, offering
prices, sold-out offerings left out. Real PostgreSQL; the listings are written here by hand."""

from decimal import Decimal

import pytest
from django.db import connection

from catalog.models import Offering, Variation, VariationOption
from catalog.stock import refresh_listing_totals
from search import caching
from search.exceptions import InvalidSearch
from search.options import OPTION_FACETS, build_option_facets, normalize_option_value, option_facet, pair_key
from search.selectors import search_products
from search.types import SearchParams
from tests.catalog import factories
from tests.locks import wait_until_another_backend_waits_for_mine

pytestmark = pytest.mark.django_db


def add_variations(product, properties: dict[str, list[str]], *, prices=None, quantity=2):
    """The catalog factories' helper with two of each offering (search's tests sell one and keep one)."""
    return factories.add_variations(product, properties, prices=prices, quantity=quantity)


def set_offering(offering, **changes):
    """Change offerings as the seller's editor and the checkout do: an update, then the listing's totals;
    then what their products_changed signal does after commit: stamp the listing (cached answers showing it go)."""
    Offering.objects.filter(pk=offering.pk).update(**changes)
    refresh_listing_totals(product_ids=[offering.product_id])
    caching.stamp_listings([offering.product_id])


def search(q="", **kwargs):
    return search_products(params=SearchParams(q=q, **kwargs))


def titles(result):
    return [p.title for p in result.hits]


def listing_row(product_id):
    with connection.cursor() as cursor:
        cursor.execute("SELECT offer_prices, options FROM search_listing WHERE product_id = %s", [product_id])
        return cursor.fetchone()


def facet_values(result, facet):
    found = next((f for f in result.options if f.key == facet), None)
    return {v.value: v.count for v in found.values} if found else {}


# --- options are searchable ---------------------------------------------------------------------


def test_size_8_ring_finds_the_ring_offered_in_size_8(make_listing, refresh_search_vocabulary):
    ring = make_listing("Hammered silver stacking ring", description="Made to order.")
    add_variations(ring, {"Ring size": ["6", "7", "8"]})
    make_listing("Hammered silver bangle")
    other = make_listing("Gold signet ring")
    add_variations(other, {"Ring size": ["5", "6"]})
    refresh_search_vocabulary()

    result = search("size 8 ring")

    assert titles(result)[:1] == ["Hammered silver stacking ring"]
    assert result.exact_total == 1


def test_emerald_green_scarf_finds_the_scarf_offered_in_emerald_green(make_listing, refresh_search_vocabulary):
    scarf = make_listing("Hand-knitted merino scarf", description="Soft and long.")
    add_variations(scarf, {"Colour": ["Emerald green", "Mustard", "Navy"]})
    make_listing("Hand-knitted merino hat")
    refresh_search_vocabulary()

    result = search("emerald green scarf")

    assert titles(result) == ["Hand-knitted merino scarf"]
    assert result.suggestion is None  # "emerald" is a listing's word: never "corrected" away


def test_option_words_rank_below_the_same_words_in_a_title(make_listing, refresh_search_vocabulary):
    offered = make_listing("Merino scarf", age_days=1)
    add_variations(offered, {"Colour": ["Emerald", "Navy"]})
    make_listing("Emerald merino scarf", age_days=1)
    refresh_search_vocabulary()

    assert titles(search("emerald scarf")) == ["Emerald merino scarf", "Merino scarf"]


def test_renaming_an_option_rewrites_the_listing_search_words(make_listing):
    scarf = make_listing("Merino scarf")
    offerings = add_variations(scarf, {"Colour": ["Green", "Navy"]})
    assert titles(search("navy scarf")) == ["Merino scarf"]

    VariationOption.objects.filter(pk=offerings[("Navy",)].option1_id).update(value="Ochre")

    assert titles(search("ochre scarf")) == ["Merino scarf"]
    assert search("navy scarf", per_page=1).exact_total == 0


def test_removing_the_variations_removes_their_words_and_keys(make_listing):
    scarf = make_listing("Merino scarf")
    add_variations(scarf, {"Colour": ["Navy", "Green"]})
    assert listing_row(scarf.pk)[1] == ["colour:green", "colour:navy"]

    Offering.objects.filter(product=scarf).delete()
    Variation.objects.filter(product=scarf).delete()  # options go with their property
    Offering.objects.create(product=scarf, price=scarf.price, quantity=1)
    refresh_listing_totals(product_ids=[scarf.pk])

    assert listing_row(scarf.pk) == (None, None)
    assert search("navy scarf", per_page=1).exact_total == 0


# --- facet keys kept by the triggers --------------------------------------------------------------


def test_plain_listing_has_no_offering_facts(make_listing):
    mug = make_listing("Stoneware mug")

    assert listing_row(mug.pk) == (None, None)


def test_keys_hold_each_option_in_stock_and_each_pair_of_one_offering(make_listing):
    ring = make_listing("Stacking ring", price="20.00")
    offerings = add_variations(
        ring, {"Size": ["7", "8"], "Metal": ["Silver", "Gold"]}, prices={("7", "Gold"): "60.00", ("8", "Gold"): "60"}
    )
    set_offering(offerings[("8", "Silver")], quantity=0)

    prices, keys = listing_row(ring.pk)
    assert prices == [Decimal("20.00"), Decimal("60.00")]
    assert sorted(keys) == sorted(
        [
            "size:7",
            "size:8",
            "material:silver",
            "material:gold",
            pair_key("material:silver", "size:7"),
            pair_key("material:gold", "size:7"),
            pair_key("material:gold", "size:8"),  # silver 8 is sold out
        ]
    )


def test_sold_out_and_switched_off_offerings_leave_the_keys_without_a_change_to_the_totals(make_listing):
    sweater = make_listing("Wool sweater", price="80.00")
    offerings = add_variations(sweater, {"Size": ["S", "M", "L"]}, quantity=3)
    # Stock moves from M to L: the listing's total (9) and lowest price do not change.
    Offering.objects.filter(pk=offerings[("M",)].pk).update(quantity=0)
    Offering.objects.filter(pk=offerings[("L",)].pk).update(quantity=6)
    assert listing_row(sweater.pk)[1] == ["size:l", "size:s"]

    Offering.objects.filter(pk=offerings[("S",)].pk).update(is_enabled=False)

    assert listing_row(sweater.pk)[1] == ["size:l"]


def test_a_listing_is_searchable_while_any_offering_is_in_stock(make_listing):
    ring = make_listing("Stacking ring")
    offerings = add_variations(ring, {"Size": ["7", "8"]}, quantity=1)

    set_offering(offerings[("7",)], quantity=0)
    assert titles(search("stacking ring")) == ["Stacking ring"]
    assert search("stacking ring", size="7").total == 0
    assert search("stacking ring", size="8").total == 1

    set_offering(offerings[("8",)], quantity=0)
    assert search("stacking ring").total == 0

    set_offering(offerings[("7",)], quantity=2)  # back in stock: its row and keys return together
    assert listing_row(ring.pk)[1] == ["size:7"]
    assert search("stacking", size="7").total == 1  # (an answer cached empty shows it within the TTL)


def test_a_reopened_shop_brings_back_its_listings_with_their_keys(make_listing):
    ring = make_listing("Stacking ring")
    add_variations(ring, {"Size": ["7"]})
    shop = ring.shop
    shop.is_active = False
    shop.save()
    assert listing_row(ring.pk) is None

    shop.is_active = True
    shop.save()

    assert listing_row(ring.pk) == (None, ["size:7"])


# --- filters and facets -------------------------------------------------------------------------


@pytest.fixture
def wardrobe(make_listing):
    """Three sweaters and a plain mug, written by hand."""
    wool = make_listing("Wool sweater", price="80.00")
    add_variations(wool, {"Size": ["S", "M"], "Colour": ["Green", "Navy"]})
    cotton = make_listing("Cotton sweater", price="45.00")
    cotton_offerings = add_variations(cotton, {"Size": ["M", "L"], "Colour": ["Green"]})
    set_offering(cotton_offerings[("M", "Green")], quantity=0)
    mohair = make_listing("Mohair sweater", price="120.00")
    add_variations(mohair, {"Colours": ["Emerald  Green"]})
    make_listing("Green sweater mug", price="18.00")
    return {"wool": wool, "cotton": cotton, "mohair": mohair}


def test_option_filters_find_listings_with_an_offering_of_every_option_chosen_in_stock(wardrobe):
    assert sorted(titles(search("sweater", colour="green"))) == ["Cotton sweater", "Wool sweater"]
    assert titles(search("sweater", colour="Emerald green")) == ["Mohair sweater"]
    assert sorted(titles(search("sweater", size="m"))) == ["Wool sweater"]  # cotton's M is sold out
    assert titles(search("sweater", size="L", colour="green")) == ["Cotton sweater"]
    # Wool has small navy and green mediums, but no small green: one offering must have both.
    assert titles(search("", size="S", colour="navy")) == ["Wool sweater"]
    assert search("", size="S", colour="emerald green").total == 0
    assert search("", size="S", colour="green", material="wool").total == 0  # never three properties


def test_option_facets_count_listings_with_the_value_in_stock(wardrobe):
    result = search("sweater")

    assert facet_values(result, "colour") == {"green": 2, "emerald green": 1, "navy": 1}
    assert facet_values(result, "size") == {"m": 1, "s": 1, "l": 1}
    assert facet_values(result, "material") == {}
    assert [f.key for f in result.options] == ["colour", "size"]
    size = next(f for f in result.options if f.key == "size")
    assert {v.label for v in size.values} == {"S", "M", "L"}


def test_with_one_option_chosen_the_other_facets_count_offerings_having_both(wardrobe):
    result = search("", size="s")

    assert titles(result) == ["Wool sweater"]
    assert facet_values(result, "colour") == {"green": 1, "navy": 1}
    assert facet_values(result, "size") == {"s": 1}
    # Each count is what its link finds.
    for value, count in facet_values(search("", size="l"), "colour").items():
        assert search("", size="l", colour=value).total == count


def test_facet_counts_are_what_their_links_find_when_browsing_and_searching(wardrobe):
    for q in ("", "sweater"):
        result = search(q)
        for facet in result.options:
            for value in facet.values:
                assert search(q, **{facet.key: value.value}).total == value.count, (q, facet.key, value.value)


def test_option_filter_values_are_normalized_and_checked():
    assert search("", colour="  EMERALD   Green ").params.colour == "emerald green"
    assert search("", colour="   ").params.colour is None
    with pytest.raises(InvalidSearch) as raised:
        search("", size="x" * 41)
    assert raised.value.extra == {"field": "size"}


# --- prices: any offering in stock --------------------------------------------------------------


@pytest.fixture
def span(make_listing):
    """A ring offered at $20.00, $25.00 and $60.00, a plain $50.00 mug, and a $30 offering sold out."""
    ring = make_listing("Silver ring", price="20.00")
    offerings = add_variations(
        ring, {"Size": ["5", "6", "7", "8"]}, prices={"5": "20", "6": "25", "7": "60", "8": "30"}
    )
    set_offering(offerings[("8",)], quantity=0)
    make_listing("Silver lustre mug", price="50.00")
    return ring


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        ({"price_range": "under-25"}, ["Silver ring"]),  # $20
        ({"price_range": "25-50"}, ["Silver ring"]),  # $25.00 is in [25, 50); the sold-out $30 is not
        ({"price_range": "50-100"}, ["Silver lustre mug", "Silver ring"]),  # $50.00 belongs here only; $60
        ({"price_range": "100-plus"}, []),
        ({"price_min": Decimal("40"), "price_max": Decimal("60")}, ["Silver lustre mug", "Silver ring"]),
        ({"price_min": Decimal("26"), "price_max": Decimal("49.99")}, []),  # between the offerings, and $30 sold
        ({"price_min": Decimal("60.01")}, []),
        ({"price_max": Decimal("19.99")}, []),
        ({"price_min": Decimal("30"), "price_range": "25-50"}, []),  # one offering must be in both
        ({"price_max": Decimal("25"), "price_range": "25-50"}, ["Silver ring"]),
    ],
)
def test_a_listing_is_in_a_price_window_when_an_offering_in_stock_is(span, window, expected):
    assert sorted(titles(search("", **window))) == expected
    assert sorted(titles(search("silver", **window))) == expected


def test_price_facets_count_a_listing_in_every_range_it_has_an_offering_in(span):
    for q in ("", "silver"):
        result = search(q)
        counts = {r.key: r.count for r in result.price_ranges}
        assert counts == {"under-25": 1, "25-50": 1, "50-100": 2, "100-plus": 0}
        for key, count in counts.items():
            assert search(q, price_range=key).total == count


def test_price_sort_uses_the_from_price(span, make_listing):
    make_listing("Brass ring", price="22.00")

    assert titles(search("", sort="price_asc")) == ["Silver ring", "Brass ring", "Silver lustre mug"]
    assert titles(search("", sort="price_desc")) == ["Silver lustre mug", "Brass ring", "Silver ring"]


# --- the SQL rules agree with search/options.py -------------------------------------------------


@pytest.mark.parametrize(
    "name", [*(n for names in OPTION_FACETS.values() for n in names), "Ring Size", " COLOUR ", "Style", "Length"]
)
def test_sql_facet_of_a_property_name_agrees_with_python(name):
    with connection.cursor() as cursor:
        cursor.execute("SELECT search_option_facet(%s)", [name])
        assert cursor.fetchone()[0] == option_facet(name)


@pytest.mark.parametrize("value", ["Emerald  Green", " XL ", "Émeraude", "8.5", "a\tb\x1fc", "  "])
def test_sql_normalized_value_agrees_with_python(value):
    with connection.cursor() as cursor:
        cursor.execute("SELECT search_option_value(%s)", [value])
        assert cursor.fetchone()[0] == normalize_option_value(value)


def test_build_option_facets_keeps_a_chosen_value_and_the_top_values():
    counts = [(f"colour:c{i:02}", 20 - i) for i in range(15)] + [("size:8", 3), (pair_key("colour:c01", "size:8"), 2)]

    facets = build_option_facets(counts, chosen={}, total=30)
    assert [f.key for f in facets] == ["colour", "size"]
    assert len(facets[0].values) == 12 and facets[0].values[0].value == "c00"

    too_long = build_option_facets([("material:" + "x" * 41, 5), ("material:" + "x" * 40, 1)], chosen={}, total=6)
    assert [v.value for v in too_long[0].values] == ["x" * 40]  # longer than a filter takes: no facet value

    chosen = build_option_facets(counts, chosen={"size": "8"}, total=3)
    assert [(f.key, [(v.value, v.count) for v in f.values]) for f in chosen] == [
        ("colour", [("c01", 2)]),
        ("size", [("8", 3)]),
    ]


# --- the migration and deletions ----------------------------------------------------------------


def _row_versions(product_ids):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT array_agg(ctid::text ORDER BY id) FROM catalog_product WHERE id = ANY(%s)),"
            " (SELECT array_agg(ctid::text ORDER BY product_id) FROM search_listing WHERE product_id = ANY(%s))",
            [product_ids, product_ids],
        )
        return cursor.fetchone()


def test_migration_backfill_rewrites_only_listings_with_variations(make_listing):
    from importlib import import_module

    plain = [make_listing("Stoneware mug").pk, make_listing("Linen tea towel").pk]
    ring = make_listing("Stacking ring")
    add_variations(ring, {"Size": ["7"]})
    Variation.objects.filter(product=ring).update(name="Size")  # unchanged: nothing to rewrite
    before_plain, before_ring = _row_versions(plain), _row_versions([ring.pk])

    with connection.cursor() as cursor:
        cursor.execute(import_module("search.migrations.0010_listing_options").BACKFILL)

    assert _row_versions(plain) == before_plain  # not a single plain row written
    assert _row_versions([ring.pk]) != before_ring
    assert listing_row(ring.pk) == (None, ["size:7"])


def test_deleting_a_listing_with_variations_removes_it_from_search(make_listing):
    ring = make_listing("Stacking ring")
    add_variations(ring, {"Size": ["7", "8"], "Colour": ["Red"]})

    ring.delete()

    assert listing_row(ring.pk) is None


# --- concurrency --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_offering_sold_out_beside_a_writer_locking_its_listing_never_deadlocks(make_listing):
    """One transaction sells an offering out and then refreshes the totals; another locks the listing first
    (catalog.stock.lock_products) and then writes another offering. The offering trigger takes the listing's
    row before its search row, as the product trigger does, so the second waits instead of deadlocking."""
    import threading

    from django.db import connections, transaction

    from catalog.stock import lock_products

    ring = make_listing("Stacking ring")
    offerings = add_variations(ring, {"Size": ["7", "8"]}, quantity=1)
    first_written, errors = threading.Event(), []

    def sell_out_first():
        try:
            with transaction.atomic():
                Offering.objects.filter(pk=offerings[("7",)].pk).update(quantity=0)  # its key leaves the listing
                first_written.set()
                wait_until_another_backend_waits_for_mine()
                refresh_listing_totals(product_ids=[ring.pk])
        except Exception as exc:  # a deadlock is raised in one of the two
            errors.append(exc)
        finally:
            connections.close_all()

    def lock_then_write():
        first_written.wait(10)
        try:
            with transaction.atomic():
                lock_products(product_ids=[ring.pk])
                Offering.objects.filter(pk=offerings[("8",)].pk).update(quantity=3)
                refresh_listing_totals(product_ids=[ring.pk])
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sell_out_first), threading.Thread(target=lock_then_write)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    assert listing_row(ring.pk) == (None, ["size:8"])


def test_option_and_price_filters_hold_on_the_broad_query_paths(make_listing, monkeypatch):
    """At tiny limits (tests/search/test_scale.py): capped counts, candidates from the newest, the page of a
    broad price sort read in index order; none may show a listing whose offerings do not match."""
    from search.backends.postgres import query

    monkeypatch.setattr(query, "CANDIDATE_LIMIT", 2)
    monkeypatch.setattr(query, "RANK_LIMIT", 2)
    monkeypatch.setattr(query, "RECENT_LIMIT", 2)
    matching = []
    for i in range(6):
        ring = make_listing(f"Silver ring {i}", price="20.00", age_days=i + 1)
        offerings = add_variations(ring, {"Size": ["7", "8"]}, prices={"8": "45.00"})
        if i % 2:
            set_offering(offerings[("8",)], quantity=0)  # size 8 sold out: neither size 8 nor $45 any more
        else:
            matching.append(ring.title)
    make_listing("Silver ring plain", price="45.00", age_days=0)  # newest, no size

    for sort in ("relevance", "newest", "price_asc", "price_desc"):
        caching.bump_listings_version()
        result = search("silver ring", size="8", price_range="25-50", sort=sort)
        assert set(titles(result)) <= set(matching), sort
        assert result.total_is_capped or sorted(titles(result)) == sorted(matching)
        caching.bump_listings_version()
        every = search("silver ring", size="8", price_range="25-50", sort=sort, per_page=1, page=2)
        assert set(titles(every)) <= set(matching), sort
