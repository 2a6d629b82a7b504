"""Search suggestions as you type: the selector, the htmx fragment and the API (real PostgreSQL and Redis)."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from catalog import selectors as catalog_selectors
from etsy.api.fields import MAX_QUERY_TEXT_LENGTH
from search.selectors import MAX_SUGGEST_LENGTH, list_suggestions, normalize_prefix
from search.types import Suggestion
from tests.api.conftest import error_of
from tests.catalog.factories import CategoryFactory

pytestmark = pytest.mark.django_db

HOSTILE = [
    "x" * 10_240,
    "\x00",
    "mu\x00g",
    "\x00\x01\x02\x1b[31m",
    "' OR 1=1 --",
    "mug'); DROP TABLE catalog_product; --",
    "%%",
    "%_\\",
    "\\",
    "(.*)+[",
    "😀" * 3000,
    "\u202emug",
    "\ud800mug",
    "ﷺ" * 64,
    "m" * 41,
]
# Text a browser can send (a lone surrogate cannot be encoded; its bytes arrive as invalid UTF-8 instead).
HOSTILE_HTTP = [t for t in HOSTILE if t != "\ud800mug"]


def labels(suggestions: list[Suggestion], kind: str | None = None) -> list[str]:
    return [s.label for s in suggestions if kind is None or s.kind == kind]


@pytest.fixture
def mugs_and_more(make_listing, refresh_search_vocabulary):
    """mug: 3 listings, mustard: 2, muslin: 1; 'ring' and 'rings' share a stem; a sold-out and a hidden word."""
    for colour in ("blue", "green", "grey"):
        make_listing(f"Speckled {colour} mug")
    make_listing("Mustard wool scarf")
    make_listing("Mustard linen napkins")
    make_listing("Muslin produce bag")
    make_listing("Silver ring with a moonstone")
    make_listing("Stacking rings")
    make_listing("Rings of brass")
    make_listing("Quokka plush toy", quantity=0)
    make_listing("Quetzal feather print", is_active=False)
    make_listing("Quilted oven glove")
    refresh_search_vocabulary()


@pytest.fixture
def categories(db):
    jewelry = CategoryFactory(name="Jewelry", slug="jewelry")
    CategoryFactory(name="Rings", slug="rings", parent=jewelry)
    CategoryFactory(name="Earrings", slug="earrings", parent=jewelry)
    CategoryFactory(name="Home & Living", slug="home-living")
    CategoryFactory(name="Mugs & Cups", slug="mugs-cups")


# --- the selector -----------------------------------------------------------------------


def test_suggestions_complete_the_word_with_the_most_used_first(mugs_and_more):
    suggestions = list_suggestions(prefix="mu")

    assert labels(suggestions) == ["mug", "mustard", "muslin"]
    assert suggestions[0] == Suggestion(kind="query", label="mug", url="/search/?q=mug")


def test_suggestions_offer_one_spelling_per_stem_counting_all_its_listings(mugs_and_more):
    assert labels(list_suggestions(prefix="rin")) == ["rings"]  # rings (2) + ring (1) beat nothing else


def test_suggestions_leave_out_stop_words(mugs_and_more):
    assert "with" not in labels(list_suggestions(prefix="wi"))
    assert "of" not in labels(list_suggestions(prefix="of"))


def test_suggestions_keep_the_words_before_the_one_being_typed(mugs_and_more):
    suggestions = list_suggestions(prefix="Blue  mus")

    assert labels(suggestions) == ["blue mustard", "blue muslin"]
    assert suggestions[0].url == "/search/?q=blue+mustard"


def test_suggestions_leave_out_words_only_sold_out_or_hidden_listings_use(mugs_and_more):
    assert labels(list_suggestions(prefix="qu")) == ["quilted"]


def test_suggestions_leave_out_words_only_a_listing_reserved_for_one_buyer_uses(
    make_listing, refresh_search_vocabulary
):
    from catalog.models import Product
    from tests.accounts.factories import UserFactory

    custom = make_listing("Zinnia enamel locket")
    Product.objects.filter(pk=custom.pk).update(reserved_for=UserFactory())
    make_listing("Zircon stud earrings")
    refresh_search_vocabulary()
    assert labels(list_suggestions(prefix="zi")) == ["zircon"]


def test_suggestions_list_categories_whose_words_start_with_the_text_after_searches(mugs_and_more, categories):
    suggestions = list_suggestions(prefix="ring")

    assert [(s.kind, s.label) for s in suggestions] == [("query", "rings"), ("category", "Rings")]
    assert suggestions[-1].url == "/c/rings/"  # "Earrings" does not start with "ring"
    assert labels(list_suggestions(prefix="living"), "category") == ["Home & Living"]
    assert labels(list_suggestions(prefix="home & li"), "category") == ["Home & Living"]
    assert labels(list_suggestions(prefix="MUGS"), "category") == ["Mugs & Cups"]


def test_suggestions_rank_categories_by_name_start_then_depth(refresh_search_vocabulary):
    refresh_search_vocabulary()  # empty: only categories can match
    jewelry = CategoryFactory(name="Jewelry", slug="jewelry")
    CategoryFactory(name="Jewelry boxes", slug="jewelry-boxes", parent=jewelry)
    CategoryFactory(name="Vintage jewelry", slug="vintage-jewelry")

    assert labels(list_suggestions(prefix="jew")) == ["Jewelry", "Jewelry boxes", "Vintage jewelry"]


def test_suggestions_stop_at_the_limit_keeping_three_categories_beside_many_searches(
    make_listing, refresh_search_vocabulary
):
    for word in ("candle", "canvas", "cane", "canoe", "canopy", "canteen", "cantle", "canyon", "canary"):
        make_listing(f"{word.title()} ornament")
    refresh_search_vocabulary()
    for name in ("Candles", "Canvas art", "Canes", "Canteens"):
        CategoryFactory(name=name)

    suggestions = list_suggestions(prefix="can")

    assert len(suggestions) == 8
    assert [s.kind for s in suggestions] == ["query"] * 5 + ["category"] * 3
    assert len(list_suggestions(prefix="can", limit=4)) == 4


def test_suggestions_fill_the_list_with_categories_when_few_searches_match(refresh_search_vocabulary):
    refresh_search_vocabulary()
    for n in range(6):
        CategoryFactory(name=f"Tea set {n}")

    assert labels(list_suggestions(prefix="tea"), "category") == [f"Tea set {n}" for n in range(6)]


@pytest.mark.parametrize("typed", ["", "m", " m ", "\x00m", "  \t\n "])
def test_text_shorter_than_two_characters_gets_nothing_without_a_query(typed, mugs_and_more, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert list_suggestions(prefix=typed) == []


def test_normalize_prefix_folds_case_accents_controls_and_spaces_and_caps_the_length():
    assert normalize_prefix("  Blue\tMUG\x00  Café\u200b ") == "blue mug cafe"
    assert normalize_prefix("a" * 500) == "a" * MAX_SUGGEST_LENGTH
    assert normalize_prefix("ab " + " " * 70 + "cd") == "ab cd"
    assert normalize_prefix("x" * (MAX_SUGGEST_LENGTH - 1) + " y") == "x" * (MAX_SUGGEST_LENGTH - 1)


def test_differently_typed_forms_of_one_prefix_share_one_cached_answer(mugs_and_more, django_assert_num_queries):
    catalog_selectors.get_category_tree()  # the category tree is cached by catalog
    with django_assert_num_queries(1):
        first = list_suggestions(prefix="MU")
    with django_assert_num_queries(0):
        assert list_suggestions(prefix="  mu ") == first
        assert list_suggestions(prefix="Mu") == first


def test_suggestions_answer_from_one_indexed_query_on_a_cold_cache(mugs_and_more, django_assert_num_queries):
    catalog_selectors.get_category_tree()
    with django_assert_num_queries(1) as captured:
        list_suggestions(prefix="mus")
    assert "search_vocabulary" in captured.captured_queries[0]["sql"]


@pytest.mark.parametrize("typed", ["m%", "%%", "m_g", "mu_", "m\\%", "\\\\", "m%g%"])
def test_like_metacharacters_match_only_themselves(typed, mugs_and_more):
    assert labels(list_suggestions(prefix=typed), "query") == []


@pytest.mark.parametrize("typed", HOSTILE)
def test_hostile_text_gets_a_short_list_and_no_error(typed, mugs_and_more, categories):
    suggestions = list_suggestions(prefix=typed)

    assert len(suggestions) <= 8
    assert all(s.url.startswith("/") for s in suggestions)


def test_any_text_gets_a_short_list_and_no_error(mugs_and_more, categories):
    @settings(
        max_examples=60,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(typed=st.text(max_size=120))
    def run(typed):
        suggestions = list_suggestions(prefix=typed)
        assert len(suggestions) <= 8
        assert all(s.kind in ("query", "category") and s.url.startswith("/") for s in suggestions)

    run()


# --- the htmx fragment ----------------------------------------------------------------------


def test_suggest_fragment_lists_links_for_the_typed_text(client, mugs_and_more, categories):
    response = client.get("/search/suggest", {"q": "mu"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert [t.name for t in response.templates] == ["search/_suggestions.html"]
    html = response.content.decode()
    assert '<a href="/search/?q=mug">mug</a>' in html
    assert '<a href="/c/mugs-cups/">Mugs &amp; Cups <span class="suggestion-kind">category</span></a>' in html
    assert "4 suggestions" in html
    cache_control = response["Cache-Control"]
    assert "private" in cache_control and "max-age=60" in cache_control


def test_suggest_fragment_is_empty_for_short_text(client, mugs_and_more):
    for params in ({"q": "m"}, {"q": ""}, {}):
        response = client.get("/search/suggest", params)
        assert response.status_code == 200
        assert "<a " not in response.content.decode()


def test_suggest_fragment_escapes_what_was_typed(client, mugs_and_more):
    html = client.get("/search/suggest", {"q": "<script>alert(1)</script> mu"}).content.decode()

    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; mug" in html


@pytest.mark.parametrize("typed", HOSTILE_HTTP)
def test_suggest_fragment_never_fails_on_hostile_text(typed, client, mugs_and_more):
    assert client.get("/search/suggest", {"q": typed}).status_code == 200


def test_suggest_fragment_never_fails_on_invalid_utf8(client, mugs_and_more):
    assert client.get("/search/suggest?q=%ED%A0%80mu%FF%00").status_code == 200


def test_suggest_fragment_answers_from_one_query_then_from_the_cache(client, mugs_and_more, django_assert_num_queries):
    catalog_selectors.get_category_tree()
    with django_assert_num_queries(1):
        assert client.get("/search/suggest", {"q": "mus"}).status_code == 200
    with django_assert_num_queries(0):
        assert client.get("/search/suggest", {"q": "MUS"}).status_code == 200


def test_suggest_fragment_accepts_only_reads(client):
    assert client.post("/search/suggest", {"q": "mu"}).status_code == 405


def test_header_search_box_asks_for_suggestions_with_htmx(client, mugs_and_more):
    html = client.get("/search/", {"q": "mug"}).content.decode()

    assert 'hx-get="/search/suggest"' in html
    assert 'hx-target="#site-search-suggestions"' in html
    assert 'aria-controls="site-search-suggestions"' in html
    assert '<div id="site-search-suggestions" class="search-suggestions" aria-live="polite"></div>' in html


# --- the API ------------------------------------------------------------------------------------


@pytest.fixture
def api_client():
    return APIClient()


def test_suggestions_api_returns_kind_label_and_url(api_client, mugs_and_more, categories):
    response = api_client.get("/api/v1/search/suggestions", {"q": "mu"})

    assert response.status_code == 200, response.content
    assert response.json() == {
        "suggestions": [
            {"kind": "query", "label": "mug", "url": "/search/?q=mug"},
            {"kind": "query", "label": "mustard", "url": "/search/?q=mustard"},
            {"kind": "query", "label": "muslin", "url": "/search/?q=muslin"},
            {"kind": "category", "label": "Mugs & Cups", "url": "/c/mugs-cups/"},
        ]
    }
    assert response["Cache-Control"] == "private, no-store"


def test_suggestions_api_answers_an_empty_list_for_short_or_missing_text(api_client, mugs_and_more):
    assert api_client.get("/api/v1/search/suggestions", {"q": "m"}).json() == {"suggestions": []}
    assert api_client.get("/api/v1/search/suggestions").json() == {"suggestions": []}


@pytest.mark.parametrize("query", ["q=%00", "q=" + "x" * 1001, "q=mu&q=ri"])
def test_suggestions_api_refuses_malformed_text_in_the_error_format(query, api_client):
    response = api_client.get(f"/api/v1/search/suggestions?{query}")

    assert response.status_code == 400
    assert set(error_of(response)["fields"]) == {"q"}


@pytest.mark.parametrize("typed", [t for t in HOSTILE_HTTP if "\x00" not in t])
def test_suggestions_api_never_fails_on_hostile_text(typed, api_client, mugs_and_more):
    response = api_client.get("/api/v1/search/suggestions", {"q": typed})

    assert response.status_code == (400 if len(typed) > MAX_QUERY_TEXT_LENGTH else 200)  # the documented maxLength


def test_suggestions_api_is_documented_with_its_parameter_and_response(api_client):
    schema = api_client.get("/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"]["/api/v1/search/suggestions"]["get"]

    assert [p["name"] for p in operation["parameters"]] == ["q"]
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/Suggestions"
    item = schema["components"]["schemas"]["Suggestion"]
    assert set(item["properties"]) == {"kind", "label", "url"}


def test_suggestions_leave_out_sellers_misspellings_of_a_more_used_word(make_listing, refresh_search_vocabulary):
    for i in range(3):
        make_listing(f"Leather wallet {i}")
    make_listing("Leather walet")  # a seller's typo: still found by search, not offered
    make_listing("Walnut wall shelf")
    make_listing("Walnutt bowl")  # a typo used as often as "walnut" is not taken for one
    make_listing("Mud cloth pillow")
    for i in range(3):
        make_listing(f"Stoneware mug {i}")
    refresh_search_vocabulary()

    assert labels(list_suggestions(prefix="wal")) == ["wallet", "wall", "walnut", "walnutt"]
    assert labels(list_suggestions(prefix="mu")) == ["mug", "mud"]  # short words one letter apart are both real
