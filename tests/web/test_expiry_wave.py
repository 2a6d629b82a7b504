"""What a wave of page copies coming due costs: who builds them, with how many queries (``make bench-web``)."""

import pytest
from prometheus_client import REGISTRY

pytestmark = pytest.mark.django_db


def _builds(kind: str, by: str, what: str = "builds") -> float:
    name = {
        "builds": "etsy_page_builds_total",
        "queries": "etsy_page_build_queries_total",
        "cpu": "etsy_page_build_cpu_seconds_total",
    }[what]
    return REGISTRY.get_sample_value(name, {"kind": kind, "by": by}) or 0.0


def _category_shell_key():
    from django.core.cache import caches

    keys = list(caches["default"].keys("page:category:*"))
    assert len(keys) == 1
    return keys[0]


def _make_due(key):
    """Stamp the copy past its freshness (Redis still holds it, as in the grace minute)."""
    from django.core.cache import caches

    entry = caches["default"].get(key)
    caches["default"].set(key, (entry[0], entry[1], 0.0, *entry[3:]), 60)


def test_page_builds_are_counted_by_kind_and_builder_with_their_queries(client, catalog):
    from etsy.cache import aside

    built, queries = _builds("page:category", "request"), _builds("page:category", "request", "queries")
    cpu = _builds("page:category", "request", "cpu")
    assert client.get("/c/mugs/").status_code == 200
    assert _builds("page:category", "request") == built + 1  # a miss, built on the request
    assert _builds("page:category", "request", "queries") > queries
    assert _builds("page:category", "request", "cpu") > cpu
    _make_due(_category_shell_key())
    refreshed = _builds("page:category", "refresher")
    assert client.get("/c/mugs/").status_code == 200
    assert aside.refresher.run_pending() == 1
    assert _builds("page:category", "refresher") == refreshed + 1
    assert _builds("page:category", "request") == built + 1


MERGED = "/c/home-living/?sort=price_asc"  # a category with a subcategory, in a sort merged per category


def test_a_due_category_page_that_still_reads_the_same_is_kept_without_being_rendered_again(client, catalog):
    """A wave of category pages coming due costs a few narrow queries each, not a rebuild: their listing records
    expire in the same wave, so rebuilding them read every listing again and rendered every card again."""
    from unittest import mock

    from django.core.cache import caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from etsy import cache
    from etsy.cache import aside

    assert client.get(MERGED).status_code == 200
    key = _category_shell_key()
    gens, shell, *_ = caches["default"].get(key)
    _make_due(key)
    caches["default"].delete_pattern("listing:*")  # the records the page was built from expired with it
    assert client.get(MERGED).status_code == 200  # answered with the copy, the check queued
    with mock.patch.object(cache, "render_shell", wraps=cache.render_shell) as render:
        with CaptureQueriesContext(connection) as queries:
            assert aside.refresher.run_pending() == 1
    assert render.call_count == 0
    assert len(queries) <= 4  # the count, the merged page's ids, its cards' fields, their pictures
    kept_gens, kept_shell, fresh_until, _ = caches["default"].get(key)
    assert (kept_gens, kept_shell) == (gens, shell)
    assert fresh_until > __import__("time").time() + cache.TTL["category"] * (1 - cache.TTL_JITTER) - 2


def test_a_due_category_page_shows_a_change_no_event_announced(client, catalog):
    """A copy is never kept past its TTL on the strength of cached records as old as itself: a shop renamed
    without an event (a lost invalidation, a raw UPDATE) shows once the page comes due."""
    from django.core.cache import caches

    from etsy.cache import aside
    from shops.models import Shop

    assert "Clay Studio" in client.get("/c/mugs/").content.decode()
    Shop.objects.filter(pk=catalog["shop_a"].pk).update(name="Kiln Works")  # no signal, nothing invalidated
    key = _category_shell_key()
    _make_due(key)
    assert "Clay Studio" in client.get("/c/mugs/").content.decode()  # the copy, within its grace
    assert aside.refresher.run_pending() == 1
    html = client.get("/c/mugs/").content.decode()
    assert "Kiln Works" in html and "Clay Studio" not in html
    assert caches["default"].get(key)[2] > 0  # stored fresh, with the new signature
    _make_due(key)
    client.get("/c/mugs/")
    assert aside.refresher.run_pending() == 1
    assert "Kiln Works" in client.get("/c/mugs/").content.decode()  # and kept as it is now


@pytest.mark.parametrize("ordering", ["newest", "price_asc", "popular"])
@pytest.mark.parametrize(("slug", "page"), [("home-living", 1), ("home-living", 3), ("mugs", 2), ("art", 9)])
def test_a_listing_signature_read_from_the_database_is_the_built_page_s(catalog, ordering, slug, page):
    from catalog import selectors

    args = {"category_slug": slug, "ordering": ordering, "page": page, "per_page": 8}
    built = selectors.list_products_page(**args, fresh=True)
    assert built.signature() == selectors.read_listing_signature(**args)


@pytest.mark.parametrize("change", ["price", "sold out", "picture", "shop rating", "closed shop"])
def test_a_listing_signature_moves_with_what_a_card_shows(catalog, change):
    from decimal import Decimal

    from catalog import selectors
    from catalog.models import Product, ProductImage
    from shops.models import Shop

    args = {"category_slug": "mugs", "ordering": "newest", "page": 1, "per_page": 24}
    before = selectors.read_listing_signature(**args)
    product = catalog["products"][4]
    if change == "price":
        Product.objects.filter(pk=product.pk).update(price=Decimal("99.00"))
    elif change == "sold out":
        Product.objects.filter(pk=product.pk).update(quantity=0)
    elif change == "picture":
        ProductImage.objects.filter(product=product).update(alt_text="A new photo")
    elif change == "shop rating":
        Shop.objects.filter(pk=product.shop_id).update(rating=Decimal("3.1"))
    else:
        Shop.objects.filter(pk=product.shop_id).update(is_active=False)
    assert selectors.read_listing_signature(**args) != before


def test_the_pages_of_one_filter_set_coming_due_together_count_its_listings_once(catalog, django_assert_num_queries):
    from catalog import selectors

    selectors.get_category_tree()  # cached for an hour: not what a revalidation costs
    with django_assert_num_queries(3):  # the count, the cards' fields, their pictures
        selectors.read_listing_signature(category_slug="mugs", ordering="newest", page=1, per_page=4)
    with django_assert_num_queries(2):  # another sort and page of the same filter set: the count just read
        selectors.read_listing_signature(category_slug="mugs", ordering="popular", page=2, per_page=4)
    with django_assert_num_queries(3):  # another filter set counts its own
        selectors.read_listing_signature(category_slug="mugs", vintage=False, page=1, per_page=4)
