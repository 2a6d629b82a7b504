"""PostgreSQL full-text search through the search service (real PostgreSQL, real Redis)."""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import F

from catalog.exceptions import CategoryNotFound
from catalog.models import Product
from search.exceptions import InvalidSearch
from search.selectors import search_products
from search.types import SearchParams
from shops.models import Shop
from shops.services import add_sales_by_shop
from tests.catalog.factories import CategoryFactory, ProductFactory, set_listing_stock
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db


def titles(result):
    return [p.title for p in result.hits]


def search(q="", **kwargs):
    return search_products(params=SearchParams(q=q, **kwargs))


def test_synonyms_hand_crafted_leather_billfold_finds_handmade_leather_wallet(make_listing, refresh_search_vocabulary):
    make_listing("Handmade leather wallet", description="Six card slots.")
    make_listing("Handmade canvas tote bag", description="Room for a laptop.")
    make_listing("Leather dog collar", description="Sturdy buckle.")
    refresh_search_vocabulary()

    result = search("hand-crafted leather billfold")

    # The whole query first; fewer than a page, so a listing missing one concept follows.
    assert titles(result) == ["Handmade leather wallet", "Leather dog collar"]
    assert result.exact_total == 1 and result.total == 2
    assert [p.title for p in result.partial_hits] == ["Leather dog collar"]
    assert result.degraded is False and result.backend == "postgres"


def test_synonyms_sterling_necklace_finds_925_silver_pendant(make_listing, refresh_search_vocabulary):
    make_listing("925 silver pendant", description="On an adjustable chain.")
    make_listing("Gold hoop earrings")
    make_listing("Silver spoon ring")
    refresh_search_vocabulary()

    result = search("sterling necklace")

    assert titles(result) == ["925 silver pendant", "Silver spoon ring"]
    assert result.exact_total == 1


def test_misspelled_query_finds_leather_wallets_and_suggests_spelling(make_listing, refresh_search_vocabulary):
    for colour in ("black", "tan", "brown"):
        make_listing(f"Slim {colour} leather wallet", description="Hand-stitched edges.")
    make_listing("Canvas tote bag")
    make_listing("Leather watch strap")
    refresh_search_vocabulary()

    result = search("lether walet")

    assert sorted(p.title for p in result.exact_hits) == [
        "Slim black leather wallet",
        "Slim brown leather wallet",
        "Slim tan leather wallet",
    ]
    assert [p.title for p in result.partial_hits] == ["Leather watch strap"]
    assert result.suggestion == "leather wallet"


def test_rare_misspelling_in_listings_still_finds_correct_spelling(make_listing, refresh_search_vocabulary):
    for i in range(25):
        make_listing(f"Leather wallet no {i}")
    make_listing("Lether walet, one of a kind")
    refresh_search_vocabulary()

    result = search("lether walet")

    assert result.total == 26
    assert "Lether walet, one of a kind" in titles(search("lether walet", per_page=50))
    assert result.suggestion == "leather wallet"


def test_correctly_spelled_query_has_no_suggestion(make_listing, refresh_search_vocabulary):
    make_listing("Leather wallet")
    refresh_search_vocabulary()

    assert search("leather wallet").suggestion is None


@pytest.mark.parametrize(
    ("query", "title"),
    [
        ("wallets", "Leather wallet"),
        ("earring", "Silver hoop earrings"),
        ("painted", "Watercolor painting of a heron"),
        ("knitting", "Knitted wool beanie"),
        ("candles", "Soy candle"),
    ],
)
def test_plural_singular_and_stemmed_forms_match(make_listing, refresh_search_vocabulary, query, title):
    for t in (
        "Leather wallet",
        "Silver hoop earrings",
        "Watercolor painting of a heron",
        "Knitted wool beanie",
        "Soy candle",
        "Oak side table",
    ):
        make_listing(t)
    refresh_search_vocabulary()

    assert titles(search(query)) == [title]


def test_sold_out_and_inactive_listings_never_appear(make_listing, refresh_search_vocabulary):
    make_listing("Leather wallet in stock", price="30.00")
    make_listing("Leather wallet sold out", quantity=0, price="30.00")
    make_listing("Leather wallet hidden", is_active=False, price="30.00")
    closed_shop = ShopFactory(is_active=False)
    make_listing("Leather wallet closed shop", shop=closed_shop)
    refresh_search_vocabulary()

    for result in (search("leather wallet"), search("")):
        assert titles(result) == ["Leather wallet in stock"]
        assert result.total == 1
        assert sum(f.count for f in result.price_ranges) == 1
        assert [f.count for f in result.categories] == [1]


@pytest.fixture
def catalog_tree(make_listing):
    jewelry = CategoryFactory(name="Jewelry", slug="jewelry")
    necklaces = CategoryFactory(name="Necklaces", slug="necklaces", parent=jewelry)
    rings = CategoryFactory(name="Rings", slug="rings", parent=jewelry)
    home = CategoryFactory(name="Home", slug="home")
    make_listing("Silver necklace", price="24.99", category=necklaces)
    make_listing("Silver pendant necklace", price="25.00", category=necklaces, is_vintage=True)
    make_listing("Silver ring", price="50.00", category=rings)
    make_listing("Silver ring wide", price="99.99", category=rings, is_vintage=True)
    make_listing("Silver jewelry box", price="100.00", category=jewelry)
    make_listing("Silver candle holder", price="150.00", category=home)
    make_listing("Silver earrings sold out", price="10.00", category=jewelry, quantity=0)
    return {"jewelry": jewelry, "necklaces": necklaces, "rings": rings, "home": home}


def test_facets_count_every_matching_listing(catalog_tree, refresh_search_vocabulary):
    refresh_search_vocabulary()

    result = search("silver")

    assert result.total == 6
    assert {(f.slug, f.count) for f in result.categories} == {
        ("necklaces", 2),
        ("rings", 2),
        ("jewelry", 1),
        ("home", 1),
    }
    assert [(f.key, f.count) for f in result.price_ranges] == [
        ("under-25", 1),
        ("25-50", 1),
        ("50-100", 2),
        ("100-plus", 2),
    ]


def test_category_filter_includes_subcategories(catalog_tree):
    result = search("silver", category="jewelry")

    assert result.total == 5
    assert "Silver candle holder" not in titles(result)
    assert {(f.slug, f.count) for f in result.categories} == {("necklaces", 2), ("rings", 2), ("jewelry", 1)}
    assert sorted(titles(search("silver", category="rings"))) == ["Silver ring", "Silver ring wide"]


def test_price_filters_are_inclusive_bounds(catalog_tree):
    result = search("silver", price_min=Decimal("25.00"), price_max=Decimal("99.99"))

    assert sorted(titles(result)) == ["Silver pendant necklace", "Silver ring", "Silver ring wide"]
    assert [(f.key, f.count) for f in result.price_ranges] == [
        ("under-25", 0),
        ("25-50", 1),
        ("50-100", 2),
        ("100-plus", 0),
    ]


def test_vintage_filter_both_ways(catalog_tree):
    assert sorted(titles(search("silver", vintage=True))) == ["Silver pendant necklace", "Silver ring wide"]
    assert search("silver", vintage=False).total == 4


def test_shop_filter(make_listing):
    other = ShopFactory()
    make_listing("Silver ring")
    make_listing("Silver ring from elsewhere", shop=other)

    assert titles(search("silver ring", shop_id=other.pk)) == ["Silver ring from elsewhere"]


def test_browse_without_query_lists_everything_in_stock_with_facets(catalog_tree):
    result = search("", category="necklaces")

    assert result.total == 2
    assert sorted(titles(result)) == ["Silver necklace", "Silver pendant necklace"]


def test_vintage_listings_match_vintage_query_without_the_word(make_listing):
    make_listing("1970s brass table lamp", is_vintage=True)
    make_listing("Brass table lamp")

    result = search("vintage lamp")

    assert titles(result) == ["1970s brass table lamp", "Brass table lamp"]
    assert result.exact_total == 1 and result.offers_vintage_filter is True


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("price_asc", ["Silver earrings cheap", "Silver ring", "Silver necklace dear"]),
        ("price_desc", ["Silver necklace dear", "Silver ring", "Silver earrings cheap"]),
        ("newest", ["Silver ring", "Silver earrings cheap", "Silver necklace dear"]),
    ],
)
def test_sorts(make_listing, sort, expected):
    make_listing("Silver necklace dear", price="90.00", age_days=30)
    make_listing("Silver earrings cheap", price="10.00", age_days=10)
    make_listing("Silver ring", price="40.00", age_days=1)

    assert titles(search("silver", sort=sort)) == expected


def test_title_match_ranks_above_description_match(make_listing):
    make_listing("Oak serving board", description="Pairs well with a leather apron.", age_days=1)
    make_listing("Leather apron", description="Heavy waxed hide.", age_days=5)

    assert titles(search("leather")) == ["Leather apron", "Oak serving board"]


def test_better_shop_ranks_above_otherwise_equal_listing(make_listing):
    weak = ShopFactory(rating=Decimal("3.2"), sales_count=2)
    strong = ShopFactory(rating=Decimal("4.9"), sales_count=900)
    weak_listing = make_listing("Walnut cutting board", shop=weak, age_days=3)
    strong_listing = make_listing("Walnut cutting board", shop=strong, age_days=3)
    Product.objects.filter(pk=strong_listing.pk).update(created_at=weak_listing.created_at)

    assert [p.pk for p in search("walnut cutting board").hits] == [strong_listing.pk, weak_listing.pk]
    assert [p.pk for p in search("").hits] == [strong_listing.pk, weak_listing.pk]


def test_newer_listing_ranks_above_otherwise_equal_old_listing(make_listing):
    old = make_listing("Walnut cutting board", age_days=120)
    new = make_listing("Walnut cutting board", age_days=2)

    assert [p.pk for p in search("walnut board").hits] == [new.pk, old.pk]


def test_query_that_matches_nothing_returns_empty_result(make_listing, refresh_search_vocabulary):
    make_listing("Leather wallet")
    refresh_search_vocabulary()

    result = search("carburetor")

    assert result.hits == [] and result.total == 0
    assert result.categories == []
    assert [f.count for f in result.price_ranges] == [0, 0, 0, 0]


def test_extra_unknown_word_relaxes_to_listings_matching_the_rest(make_listing, refresh_search_vocabulary):
    make_listing("Black leather wallet")
    refresh_search_vocabulary()

    assert titles(search("black leather wallet xqzv")) == ["Black leather wallet"]


@pytest.mark.parametrize(
    "query",
    [
        "'; DROP TABLE catalog_product; --",
        "leather & | ! <-> :* wallet",
        "wallet') OR 1=1 --",
        "%s %(x)s {0} \\ \x00 wallet",
        "<script>alert(1)</script> lether",
        "ünïcödé café ☕ 財布",
        "a" * 500,
    ],
)
def test_user_text_is_never_executed(make_listing, refresh_search_vocabulary, query):
    make_listing("Leather wallet")
    refresh_search_vocabulary()

    result = search(query)

    assert Product.objects.count() == 1
    if result.suggestion:
        assert "<" not in result.suggestion and ">" not in result.suggestion
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM catalog_product")
        assert cursor.fetchone()[0] == 1


def test_search_vector_is_current_inside_the_writing_transaction(make_listing):
    listing = make_listing("Plain mug")
    listing.title = "Speckled stoneware mug"
    listing.save()

    assert titles(search("speckled")) == ["Speckled stoneware mug"]
    assert titles(search("plain")) == []


def test_page_of_hits_loads_with_constant_queries(
    make_listing, refresh_search_vocabulary, django_assert_max_num_queries
):
    for i in range(30):
        make_listing(f"Leather wallet {i}")
    refresh_search_vocabulary()

    # analysis, the newest listings' age and the named shops (one statement), search, listings, images
    with django_assert_max_num_queries(5):
        result = search("leather wallet", per_page=24)
    assert len(result.hits) == 24
    for hit in result.hits:
        hit.shop.name, hit.category.name, list(hit.images.all())


def test_pagination_returns_disjoint_pages(make_listing):
    for i in range(7):
        make_listing(f"Leather wallet {i}")

    first = search("wallet", per_page=3, page=1)
    second = search("wallet", per_page=3, page=2)
    third = search("wallet", per_page=3, page=3)

    ids = [p.pk for r in (first, second, third) for p in r.hits]
    assert len(ids) == len(set(ids)) == 7 and first.total == 7 and first.pages == 3


@pytest.mark.parametrize(
    "kwargs",
    [
        {"sort": "cheapest"},
        {"page": 0},
        {"per_page": 1000},
        {"price_min": Decimal("-1")},
        {"price_min": Decimal("10"), "price_max": Decimal("5")},
        {"price_max": Decimal("NaN")},
        {"price_max": Decimal("1e30")},
        {"shop_id": 10**20},
        {"shop_id": 0},
        {"vintage": "yes"},
    ],
)
def test_malformed_parameters_raise_invalid_search(kwargs):
    with pytest.raises(InvalidSearch) as excinfo:
        search("wallet", **kwargs)
    assert excinfo.value.status_code == 400


def test_unknown_category_raises_not_found(db):
    with pytest.raises(CategoryNotFound):
        search("wallet", category="no-such-category")


def test_stock_update_without_save_hides_listing_at_once(make_listing):
    listing = make_listing("Leather wallet")
    set_listing_stock(Product.objects.get(pk=listing.pk), quantity=0)

    assert search("leather wallet").total == 0
    set_listing_stock(Product.objects.get(pk=listing.pk), quantity=2)
    assert titles(search("leather wallet", per_page=5)) == ["Leather wallet"]  # per_page: not the cached answer


def test_shop_closing_and_reopening_hides_and_restores_its_listings(make_listing):
    shop = ShopFactory()
    make_listing("Leather wallet", shop=shop)
    from shops.models import Shop

    Shop.objects.filter(pk=shop.pk).update(is_active=False)
    assert search("wallet").total == 0
    Shop.objects.filter(pk=shop.pk).update(is_active=True)
    assert search("wallet", per_page=5).total == 1


def test_shop_rating_update_without_save_changes_ranking(make_listing):
    from shops.models import Shop

    first = ShopFactory(rating=Decimal("4.9"), sales_count=500)
    second = ShopFactory(rating=Decimal("4.9"), sales_count=500)
    a = make_listing("Walnut cutting board", shop=first, age_days=3)
    b = make_listing("Walnut cutting board", shop=second, age_days=3)
    Product.objects.filter(pk=b.pk).update(created_at=a.created_at)

    Shop.objects.filter(pk=first.pk).update(rating=Decimal("3.1"), sales_count=0)
    assert [p.pk for p in search("walnut board").hits] == [b.pk, a.pk]
    Shop.objects.filter(pk=second.pk).update(rating=Decimal("1.0"), sales_count=0)
    assert [p.pk for p in search("walnut board", per_page=5).hits] == [a.pk, b.pk]


def test_deleted_listing_disappears(make_listing):
    listing = make_listing("Leather wallet")
    listing.delete()

    assert search("leather wallet").total == 0


def test_few_full_matches_are_followed_by_listings_missing_one_concept(make_listing):
    full = make_listing("Turquoise beaded necklace", age_days=200)
    partial = make_listing("Red beaded necklace", age_days=1)
    make_listing("Turquoise wool scarf")

    result = search("turquoise beaded necklace")

    assert [p.pk for p in result.hits] == [full.pk, partial.pk]
    assert result.total == 2


def test_very_old_and_future_dated_listings_are_ranked_without_error(make_listing):
    make_listing("Leather wallet ancient", age_days=20000)
    make_listing("Leather wallet future", age_days=-3)
    make_listing("Leather wallet today", age_days=0)

    assert search("leather wallet").total == 3
    assert search("").total == 3


def test_any_text_searches_without_error(make_listing, refresh_search_vocabulary):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    make_listing("Handmade leather wallet", tags=["wallet"])
    refresh_search_vocabulary()

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.text(max_size=80))
    def check(text):
        result = search(text)
        assert result.total in (0, 1)
        assert result.suggestion is None or all(ch.isalnum() or ch == " " for ch in result.suggestion)

    check()
    assert Product.objects.count() == 1


def test_listing_using_the_typed_word_ranks_above_a_synonym_match(make_listing):
    synonym = make_listing("Gold band", age_days=1)
    typed = make_listing("Gold signet ring", age_days=40)

    assert [p.pk for p in search("signet ring").hits] == [typed.pk, synonym.pk]
    assert [p.pk for p in search("band").hits] == [synonym.pk, typed.pk]


def _listing_sales(product_id: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT shop_sales_count FROM search_listing WHERE product_id = %s", [product_id])
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_shop_sales_reach_search_listings_in_boost_steps_not_every_sale():
    shop = ShopFactory(rating=Decimal("4.5"), sales_count=1000)
    product = ProductFactory(shop=shop, title="Walnut serving board", quantity=3)
    assert _listing_sales(product.pk) == 1000

    Shop.objects.filter(pk=shop.pk).update(sales_count=F("sales_count") + 1)
    assert _listing_sales(product.pk) == 1000  # one more sale: the log1p boost has not moved a step

    Shop.objects.filter(pk=shop.pk).update(sales_count=1100)
    assert _listing_sales(product.pk) == 1100  # 10 % more sales: copied

    Shop.objects.filter(pk=shop.pk).update(rating=Decimal("3.9"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT shop_rating FROM search_listing WHERE product_id = %s", [product.pk])
        assert round(cursor.fetchone()[0], 1) == 3.9  # ratings always reach the listings


def _sync_shop_calls() -> int:
    """How often this transaction has run the shop trigger's function (track_functions, this session only)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(pg_stat_get_xact_function_calls('search_listing_sync_shop'::regproc), 0)")
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_a_sale_within_the_boost_step_does_not_run_the_shop_trigger_function():
    shop = ShopFactory(rating=Decimal("4.5"), sales_count=1000)
    product = ProductFactory(shop=shop, title="Walnut serving board", quantity=3)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL track_functions = 'pl'")

    add_sales_by_shop(units_by_shop={shop.pk: 1})
    assert _sync_shop_calls() == 0  # the trigger's WHEN clause: nothing the listings show has moved

    add_sales_by_shop(units_by_shop={shop.pk: 100})
    assert _sync_shop_calls() == 1 and _listing_sales(product.pk) == 1101  # a boost step: copied
    Shop.objects.filter(pk=shop.pk).update(is_active=False)
    assert _sync_shop_calls() == 2 and _listing_sales_row(product.pk) is None
    Shop.objects.filter(pk=shop.pk).update(sales_count=F("sales_count") + 1)  # a closed shop: kept out
    assert _sync_shop_calls() == 3 and _listing_sales_row(product.pk) is None
    Shop.objects.filter(pk=shop.pk).update(is_active=True)
    assert _sync_shop_calls() == 4 and _listing_sales(product.pk) == 1102


def _listing_sales_row(product_id: int):
    with connection.cursor() as cursor:
        cursor.execute("SELECT shop_sales_count FROM search_listing WHERE product_id = %s", [product_id])
        return cursor.fetchone()
