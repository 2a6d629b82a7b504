"""What shoppers expect of search beyond matching words: partial matches after full ones,
qualifiers as attributes, shop names, spelling, price ranges and pages past the end."""

from decimal import Decimal

import pytest

from search.exceptions import InvalidSearch
from search.selectors import search_products
from search.types import PRICE_RANGES, SearchParams
from tests.catalog.factories import CategoryFactory
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db


def titles(hits):
    return [p.title for p in hits]


def search(q="", **kwargs):
    return search_products(params=SearchParams(q=q, **kwargs))


# --- partial matches ------------------------------------------------------------------------------


def test_two_concept_query_shows_listings_missing_one_concept_after_the_full_matches(make_listing):
    make_listing("Blue stoneware mug", age_days=300)
    make_listing("Green stoneware mug", age_days=1)
    make_listing("Blue linen scarf", age_days=1)
    make_listing("Oak side table")

    result = search("blue mug")

    assert titles(result.exact_hits) == ["Blue stoneware mug"]
    assert result.exact_total == 1 and result.total == 3
    # The thing asked for (a mug) before what only shares the colour.
    assert titles(result.partial_hits) == ["Green stoneware mug", "Blue linen scarf"]


def test_a_page_of_full_matches_is_not_diluted_with_partial_ones(make_listing):
    for i in range(3):
        make_listing(f"Blue mug {i}")
    make_listing("Green mug")

    result = search("blue mug", per_page=3)

    assert result.total == 3 and result.exact_total is None and result.partial_hits == []


def test_listings_filed_under_a_named_category_follow_when_text_matches_are_few(make_listing):
    lighting = CategoryFactory(name="Lighting")
    make_listing("Walnut bedside lamp", category=lighting)
    make_listing("Paper lantern string", category=lighting)
    make_listing("Walnut chopping board")

    result = search("walnut bedside lighting")

    assert titles(result.exact_hits) == ["Walnut bedside lamp"]
    # Only its category is in the query: shown after; a listing sharing one word of three is not.
    assert titles(result.partial_hits) == ["Paper lantern string"]


def test_pendant_lamp_finds_ceiling_lights_before_necklace_pendants(make_listing):
    make_listing("Rattan pendant lamp shade")
    make_listing("Smoked glass pendant light")
    make_listing("Silver moon pendant on a chain")
    make_listing("Turned oak table lamp")

    result = search("pendant lamp")

    assert set(titles(result.hits[:2])) == {"Rattan pendant lamp shade", "Smoked glass pendant light"}
    assert "Silver moon pendant on a chain" not in titles(result.hits)


def test_key_ring_is_not_a_ring(make_listing):
    make_listing("Leather key ring with initials")
    make_listing("Sterling stacking ring")

    assert titles(search("key ring").hits) == ["Leather key ring with initials"]


# --- qualifiers -----------------------------------------------------------------------------------


def test_vintage_query_finds_vintage_pieces_that_never_say_so(make_listing):
    jewelry = CategoryFactory(name="Jewelry")
    make_listing("1950s Czech glass bead necklace", category=jewelry, is_vintage=True)
    make_listing("Retro style enamel necklace", category=jewelry)
    make_listing("1970s teak side table", is_vintage=True)

    result = search("antique jewelry")

    assert titles(result.exact_hits) == ["1950s Czech glass bead necklace"]
    # A new piece "in a retro style" is jewellery but not vintage: after, never before.
    assert titles(result.partial_hits) == ["Retro style enamel necklace"]
    assert result.offers_vintage_filter is True


def test_vintage_alone_lists_the_vintage_pieces(make_listing):
    make_listing("Teak side table", is_vintage=True)
    make_listing("Oak side table")

    result = search("vintage")

    assert titles(result.hits) == ["Teak side table"]


def test_vintage_filter_is_not_offered_once_set(make_listing):
    make_listing("Teak side table", is_vintage=True)

    assert search("vintage table", vintage=True).offers_vintage_filter is False
    assert search("table").offers_vintage_filter is False


@pytest.mark.parametrize("query", ["handmade mug", "homemade mug", "artisan mug", "mug gift"])
def test_handmade_and_gift_never_exclude_a_listing(make_listing, query):
    make_listing("Speckled stoneware mug", description="Thrown on my wheel.")
    make_listing("Handmade oak spoon")

    result = search(query)

    assert titles(result.exact_hits) == ["Speckled stoneware mug"]


# --- shops ----------------------------------------------------------------------------------------


def test_query_naming_a_shop_shows_the_shop_and_its_listings_first(make_listing):
    rowan = ShopFactory(name="Rowan Trading Post", slug="rowan-trading-post")
    make_listing("Brass candlesticks", shop=rowan)
    make_listing("Teak coffee table", shop=rowan)
    make_listing("Rowan berry earrings")

    result = search("rowan")

    assert [s.name for s in result.shops] == ["Rowan Trading Post"]
    assert set(titles(result.hits[:2])) == {"Brass candlesticks", "Teak coffee table"}
    assert titles(result.hits[2:]) == ["Rowan berry earrings"]
    assert [s.name for s in search("rowan trading post").shops] == ["Rowan Trading Post"]


def test_a_word_in_the_middle_of_a_shop_name_does_not_name_it(make_listing):
    heron = ShopFactory(name="Blue Heron Pottery", slug="blue-heron-pottery")
    make_listing("Speckled mug", shop=heron)
    make_listing("Heron art print")

    result = search("heron")

    assert result.shops == []
    assert titles(result.hits) == ["Heron art print"]


def test_closed_shop_is_never_named(make_listing):
    ShopFactory(name="Rowan Trading Post", slug="rowan-trading-post", is_active=False)
    make_listing("Rowan berry earrings")

    assert search("rowan").shops == []


# --- spelling -------------------------------------------------------------------------------------


def test_transposed_letters_are_corrected(make_listing, refresh_search_vocabulary):
    make_listing("Ceramic mug")
    refresh_search_vocabulary()

    result = search("cermaic mug")

    assert titles(result.hits) == ["Ceramic mug"] and result.suggestion == "ceramic mug"


def test_two_edits_are_corrected_in_a_long_word(make_listing, refresh_search_vocabulary):
    make_listing("Turquoise necklace")
    refresh_search_vocabulary()

    result = search("turqoiuse")  # 9 letters, 2 edits (test_analysis: 2 edits only from 7 letters)

    assert titles(result.hits) == ["Turquoise necklace"] and result.suggestion == "turquoise"


def test_unknown_spelling_of_a_known_stem_is_widened(make_listing, refresh_search_vocabulary):
    # "earings" stems to "ear", a word some listings use: the spelling nobody writes still finds earrings.
    for i in range(4):
        make_listing(f"Silver hoop earrings {i}")
    make_listing("Ear climber")
    refresh_search_vocabulary()

    result = search("earings")

    assert result.total == 5 and result.suggestion == "earrings"


def test_a_spelling_guess_alone_never_makes_a_partial_match(make_listing, refresh_search_vocabulary):
    make_listing("Just one more chapter book tote")
    refresh_search_vocabulary()

    result = search("iphone charger")

    assert result.total == 0 and result.suggestion is None


# --- prices and pages -----------------------------------------------------------------------------

BOUNDARY_PRICES = ["0.00", "24.99", "25.00", "49.99", "50.00", "50.01", "99.99", "100.00", "100.01"]


@pytest.fixture
def priced_rings(make_listing):
    return {price: make_listing(f"Ring at {price}", price=price) for price in BOUNDARY_PRICES}


def test_each_price_is_counted_in_exactly_one_range(priced_rings):
    result = search("ring", per_page=50)

    assert [(f.key, f.count) for f in result.price_ranges] == [
        ("under-25", 2),
        ("25-50", 2),
        ("50-100", 3),
        ("100-plus", 2),
    ]
    assert sum(f.count for f in result.price_ranges) == result.total


@pytest.mark.parametrize("key", [key for key, *_ in PRICE_RANGES])
def test_price_range_filter_finds_what_its_facet_counted(priced_rings, key):
    facet = next(f for f in search("ring").price_ranges if f.key == key)

    result = search("ring", price_range=key, per_page=50)

    assert result.total == facet.count
    for listing in result.hits:
        assert (facet.min is None or listing.price >= facet.min) and (facet.max is None or listing.price < facet.max)


def test_unknown_price_range_is_invalid(db):
    with pytest.raises(InvalidSearch):
        search("ring", price_range="cheap")


def test_page_past_the_end_shows_the_last_page(make_listing):
    for i in range(5):
        make_listing(f"Silver ring {i}")

    result = search("ring", per_page=2, page=99)

    assert result.params.page == 3 and result.total == 5 and len(result.hits) == 1


def test_page_past_the_end_of_nothing_is_an_empty_first_page(db):
    result = search("ring", page=7)

    assert result.total == 0 and result.hits == [] and result.pages == 1


# --- the results page -----------------------------------------------------------------------------


def test_results_page_draws_a_line_before_partial_matches(client, make_listing):
    make_listing("Blue stoneware mug")
    make_listing("Green stoneware mug")

    html = client.get("/search/", {"q": "blue mug"}).content.decode()

    assert "More results for part of your search" in html
    assert html.index("Blue stoneware mug") < html.index("More results") < html.index("Green stoneware mug")


def test_results_page_has_no_line_when_every_hit_matches(client, make_listing):
    make_listing("Blue stoneware mug")

    assert "More results for part of your search" not in client.get("/search/", {"q": "blue mug"}).content.decode()


def test_results_page_shows_the_named_shop_and_offers_the_vintage_filter(client, make_listing):
    rowan = ShopFactory(name="Rowan Trading Post", slug="rowan-trading-post")
    make_listing("Brass candlesticks", shop=rowan, is_vintage=True)

    html = client.get("/search/", {"q": "rowan"}).content.decode()
    assert 'href="/shops/rowan-trading-post/"' in html and "Rowan Trading Post" in html

    html = client.get("/search/", {"q": "antique candlesticks"}).content.decode()
    assert "Only vintage pieces" in html and "vintage=1" in html


def test_price_facet_link_and_its_count_agree_on_the_results_page(client, make_listing):
    make_listing("Ring at 50", price=Decimal("50.00"))
    make_listing("Ring at 30", price=Decimal("30.00"))

    html = client.get("/search/", {"q": "ring", "price": "25-50"}).content.decode()

    assert "(1 item)" in html and "Ring at 30" in html and "Ring at 50" not in html


def test_results_page_past_the_end_shows_the_last_page(client, make_listing):
    for i in range(30):
        make_listing(f"Silver ring {i}")

    response = client.get("/search/", {"q": "ring", "page": "9999"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "Page 2 of 2" in html and "couldn't find anything" not in html


# --- broad queries ----------------------------------------------------------------------------------


@pytest.fixture
def small_candidate_limit(monkeypatch):
    from search.backends.postgres import query as postgres

    monkeypatch.setattr(postgres, "CANDIDATE_LIMIT", 3)
    monkeypatch.setattr(postgres, "RANK_LIMIT", 3)


def test_broad_query_ranks_the_newest_candidates_and_says_there_are_more(make_listing, small_candidate_limit):
    for age in (50, 40, 30, 20, 10):
        make_listing(f"Silver ring {age} days", age_days=age, price=str(age))

    result = search("ring", per_page=3)

    assert result.total_is_capped is True and result.total == 3 and result.total_label == "3+"
    assert titles(result.hits) == ["Silver ring 10 days", "Silver ring 20 days", "Silver ring 30 days"]
    assert sum(f.count for f in result.price_ranges) == 3
    assert titles(search("ring", sort="price_desc", per_page=3).hits)[0] == "Silver ring 50 days"


def test_query_under_the_bound_is_counted_exactly(make_listing, small_candidate_limit):
    for i in range(3):
        make_listing(f"Silver ring {i}")

    result = search("ring")

    assert result.total == 3 and result.total_is_capped is False and result.total_label == "3"


def test_gift_query_for_someone_lists_their_gifts_then_the_other_gifts(make_listing):
    make_listing("Cedar candle for men")
    make_listing("Pressed flower card, a lovely gift")
    make_listing("Oak side table")

    result = search("gift for him")

    assert titles(result.exact_hits) == ["Cedar candle for men"]
    assert titles(result.partial_hits) == ["Pressed flower card, a lovely gift"]


def test_gift_query_for_someone_nothing_is_for_still_lists_the_gifts(make_listing):
    make_listing("Pressed flower card, a lovely gift")

    assert titles(search("gift for him").hits) == ["Pressed flower card, a lovely gift"]


def test_results_page_says_when_nothing_matches_the_whole_query(client, make_listing):
    make_listing("Oak framed mirror")

    html = client.get("/search/", {"q": "gold mirror"}).content.decode()

    assert "Nothing matches all of “gold mirror”: results for part of your search" in html
    assert "Oak framed mirror" in html
