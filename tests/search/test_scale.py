"""The rules that keep a search's cost flat as the catalog grows (issue 18 item 6), at tiny limits.

Counts and facets are exact up to ``CANDIDATE_LIMIT`` matches and capped past it; at most
``RANK_LIMIT`` matches are scored; a broad query's candidates are read in index order. None of
that may show a listing a shopper cannot buy, or give a facet count its filter does not match.
"""

import pytest

from catalog.models import Product
from search import caching
from search.selectors import search_products
from search.types import PRICE_RANGES, SearchParams
from tests.catalog.factories import CategoryFactory, set_listing_stock
from tests.shops.factories import ShopFactory


@pytest.fixture
def limits(monkeypatch):
    from search.backends.postgres import query

    def set_limits(*, count: int, rank: int) -> None:
        monkeypatch.setattr(query, "CANDIDATE_LIMIT", count)
        monkeypatch.setattr(query, "RANK_LIMIT", rank)

    return set_limits


def search(q="", **kwargs):
    caching.bump_listings_version()  # every search here is a cache miss
    return search_products(params=SearchParams(q=q, **kwargs))


def titles(hits):
    return [p.title for p in hits]


def test_count_is_exact_up_to_the_bound_and_capped_one_past_it(make_listing, limits):
    limits(count=4, rank=2)
    for i in range(4):
        make_listing(f"Silver ring {i}")

    at_bound = search("ring")
    make_listing("Silver ring 4")
    past_bound = search("ring")

    assert (at_bound.total, at_bound.total_is_capped, at_bound.total_label) == (4, False, "4")
    assert (past_bound.total, past_bound.total_is_capped, past_bound.total_label) == (4, True, "4+")


def test_ranked_candidates_never_include_a_listing_that_cannot_be_bought(make_listing, limits):
    limits(count=2, rank=2)
    closed = ShopFactory(is_active=False)
    # The newest and dearest listings are the ones a shopper cannot buy.
    make_listing("Silver ring sold out", quantity=0, age_days=1, price="900")
    make_listing("Silver ring unlisted", is_active=False, age_days=1, price="900")
    make_listing("Silver ring of a closed shop", shop=closed, age_days=1, price="900")
    for age in (10, 20, 30, 40):
        make_listing(f"Silver ring {age} days", age_days=age, price=str(age))

    shown = set()
    for sort in ("relevance", "newest", "price_desc", "price_asc"):
        for page in (1, 2, 3):
            result = search("ring", sort=sort, per_page=2, page=page)
            assert result.total_is_capped is True
            shown.update(titles(result.hits))

    assert shown <= {f"Silver ring {age} days" for age in (10, 20, 30, 40)}
    assert titles(search("ring", sort="newest", per_page=2).hits) == ["Silver ring 10 days", "Silver ring 20 days"]
    assert titles(search("ring", sort="price_desc", per_page=2).hits) == ["Silver ring 40 days", "Silver ring 30 days"]


def test_facet_counts_count_every_match_and_agree_with_their_filters(make_listing, limits):
    limits(count=100, rank=2)  # only two are ranked; the facets still count all nine
    rings, earrings = CategoryFactory(name="Rings"), CategoryFactory(name="Earrings")
    prices = ["5", "24.99", "25", "49.99", "50", "99.99", "100", "250", "12"]
    for i, price in enumerate(prices):
        make_listing(f"Silver ring {i}", price=price, category=rings if i % 3 else earrings)

    result = search("silver")

    assert result.total == len(prices) and result.total_is_capped is False
    assert sum(f.count for f in result.categories) == len(prices)
    assert sum(f.count for f in result.price_ranges) == len(prices)
    for facet in result.categories:
        assert search("silver", category=facet.slug).total == facet.count
    for facet in result.price_ranges:
        assert search("silver", price_range=facet.key).total == facet.count
    assert [f.count for f in result.price_ranges] == [3, 2, 2, 2]
    assert [key for key, *_ in PRICE_RANGES] == [f.key for f in result.price_ranges]


def test_pages_past_the_ranked_candidates_stay_in_order(make_listing, limits):
    limits(count=100, rank=2)
    for price in (6, 3, 5, 1, 4, 2):
        make_listing(f"Oak bowl at {price}", price=str(price))

    pages = [titles(search("bowl", sort="price_asc", per_page=2, page=page).hits) for page in (1, 2, 3)]

    assert pages == [
        ["Oak bowl at 1", "Oak bowl at 2"],
        ["Oak bowl at 3", "Oak bowl at 4"],
        ["Oak bowl at 5", "Oak bowl at 6"],
    ]


def test_relevance_ranks_the_newest_candidates_when_more_match_than_are_ranked(make_listing, limits):
    limits(count=100, rank=2)
    # The oldest says "bowl" in its title (the best text match); only the newest two are ranked.
    make_listing("Oak bowl", age_days=400)
    make_listing("Oak spoon", description="Pairs with a bowl.", age_days=2)
    make_listing("Oak ladle", description="For a bowl of soup.", age_days=1)

    result = search("bowl", per_page=2)

    assert result.total == 3 and result.total_is_capped is False
    assert set(titles(result.hits)) == {"Oak spoon", "Oak ladle"}


def test_a_broad_relaxed_query_still_lists_its_full_matches_first(make_listing, limits):
    limits(count=2, rank=2)
    make_listing("Blue stoneware mug", age_days=300)
    for age in range(1, 6):
        make_listing(f"Stoneware mug {age}", age_days=age)

    result = search("blue mug", per_page=3)

    assert result.exact_total == 1 and result.total_is_capped is True
    assert titles(result.hits)[0] == "Blue stoneware mug"
    assert titles(result.hits)[1:] == ["Stoneware mug 1", "Stoneware mug 2"]


def test_sold_out_listing_leaves_a_broad_querys_candidates_at_once(make_listing, limits):
    limits(count=2, rank=2)
    newest = make_listing("Silver ring newest", age_days=1)
    for age in (10, 20, 30):
        make_listing(f"Silver ring {age} days", age_days=age)
    assert titles(search("ring", sort="newest", per_page=2).hits)[0] == "Silver ring newest"

    set_listing_stock(Product.objects.get(pk=newest.pk), quantity=0)

    assert titles(search("ring", sort="newest", per_page=2).hits) == ["Silver ring 10 days", "Silver ring 20 days"]
    assert search("ring").total == 2


def test_a_broad_query_ranks_the_newest_matches_however_far_the_count_stopped(make_listing, limits, monkeypatch):
    """The newest matches come from the text and age index (created_at >= the RECENT_LIMIT-th newest), not
    from the rows the count read: a new listing stored after them is ranked, an older one is not a candidate."""
    from search.backends.postgres import query

    limits(count=2, rank=3)
    monkeypatch.setattr(query, "RECENT_LIMIT", 3)
    for age in (100, 101, 102):
        make_listing(f"Silver ring {age} days", age_days=age)  # stored first: the ones the count reads
    make_listing("Silver ring 50 days", age_days=50)  # neither counted nor among the three newest
    make_listing("Oak bowl", age_days=3)
    make_listing("Oak spoon", age_days=2)
    make_listing("Silver ring newest", age_days=1)

    result = search("ring", per_page=3)

    assert result.total_is_capped is True
    assert titles(result.hits)[0] == "Silver ring newest"
    assert set(titles(result.hits)) == {"Silver ring newest", "Silver ring 100 days", "Silver ring 101 days"}


def test_a_query_naming_no_shop_finds_the_same_as_one_naming_a_shop_shows_it_first(make_listing):
    """The named shops are looked up before the statement; a query naming none has no shop condition."""
    rowan = ShopFactory(name="Rowan Trading Post")
    make_listing("Brass candle holder", age_days=5)
    make_listing("Walnut box", shop=rowan, age_days=1)

    assert titles(search("candle").hits) == ["Brass candle holder"]
    named = search("rowan")
    assert [shop.name for shop in named.shops] == ["Rowan Trading Post"]
    assert titles(named.hits) == ["Walnut box"]


@pytest.mark.django_db(transaction=True)
def test_the_search_statements_cost_setting_holds_for_the_search_and_ends_with_it(make_listing, monkeypatch):
    """The prelude's SET LOCAL random_page_cost reaches the search statement, never the connection's next one."""
    from django.db import connection

    from search.backends.postgres import query

    make_listing("Silver ring")
    with connection.cursor() as cursor:
        # The connection's own price (DB_RANDOM_PAGE_COST, 1.1 by default) put back to the server's default, so
        # that the search's setting shows: the search statements keep theirs whatever the connection's.
        cursor.execute("SET random_page_cost = 4")
        cursor.execute("SHOW random_page_cost")
        default = cursor.fetchone()[0]
    assert default != query.RANDOM_PAGE_COST

    seen = []
    original = query._fetch

    def fetch(sql, sql_params, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SHOW random_page_cost")
            seen.append(cursor.fetchone()[0])
        return original(sql, sql_params, **kwargs)

    monkeypatch.setattr(query, "_fetch", fetch)
    assert titles(search("ring").hits) == ["Silver ring"]

    assert seen == [query.RANDOM_PAGE_COST]
    with connection.cursor() as cursor:
        cursor.execute("SHOW random_page_cost")
        assert cursor.fetchone()[0] == default
