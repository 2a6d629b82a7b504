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


def _signature(**page):
    """One page's signature as the refresher reads it from the database."""
    from catalog import selectors

    return selectors.read_listing_signatures([selectors.ListingPageQuery(**page)])[0]


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
    # The first refresh's wall time was paid from the process's budget (0.25 s of burst): on a loaded machine it
    # can spend it all, and this test is about what a refresh keeps, not about the budget (test_invalidation).
    aside.refresh_budget.refill()
    assert aside.refresher.run_pending() == 1
    assert "Kiln Works" in client.get("/c/mugs/").content.decode()  # and kept as it is now


@pytest.mark.parametrize("ordering", ["newest", "price_asc", "popular"])
@pytest.mark.parametrize(("slug", "page"), [("home-living", 1), ("home-living", 3), ("mugs", 2), ("art", 9)])
def test_a_listing_signature_read_from_the_database_is_the_built_page_s(catalog, ordering, slug, page):
    from catalog import selectors

    args = {"category_slug": slug, "ordering": ordering, "page": page, "per_page": 8}
    built = selectors.list_products_page(**args, fresh=True)
    assert built.signature() == _signature(**args)


@pytest.mark.parametrize("change", ["price", "sold out", "picture", "shop rating", "closed shop"])
def test_a_listing_signature_moves_with_what_a_card_shows(catalog, change):
    from decimal import Decimal

    from catalog.models import Product, ProductImage
    from shops.models import Shop

    args = {"category_slug": "mugs", "ordering": "newest", "page": 1, "per_page": 24}
    before = _signature(**args)
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
    assert _signature(**args) != before


def test_the_pages_of_one_filter_set_coming_due_together_count_its_listings_once(catalog, django_assert_num_queries):
    from catalog import selectors

    selectors.get_category_tree()  # cached for an hour: not what a revalidation costs
    with django_assert_num_queries(3):  # the count, the cards' fields, their pictures
        _signature(category_slug="mugs", ordering="newest", page=1, per_page=4)
    with django_assert_num_queries(2):  # another sort and page of the same filter set: the count just read
        _signature(category_slug="mugs", ordering="popular", page=2, per_page=4)
    with django_assert_num_queries(3):  # another filter set counts its own
        _signature(category_slug="mugs", vintage=False, page=1, per_page=4)


def _warm_due_and_queue(client, urls):
    """Build each page, stamp every copy due, drop the records they were built from, and request each once (its
    check queued, as the requests of the expiry round do)."""
    from django.core.cache import caches

    for url in urls:
        assert client.get(url).status_code == 200
    keys = list(caches["default"].keys("page:category:*"))
    assert len(keys) == len(urls)
    shells = {}
    for key in keys:
        _make_due(key)
        shells[key] = caches["default"].get(key)[1]
    caches["default"].delete_pattern("listing:*")
    for url in urls:
        assert client.get(url).status_code == 200
    return shells


def _revalidations(outcome: str) -> float:
    return (
        REGISTRY.get_sample_value("etsy_page_revalidations_total", {"kind": "page:category", "outcome": outcome}) or 0
    )


NEWEST_MUGS = ["/c/mugs/?page=1", "/c/mugs/?page=2", "/c/mugs/?page=3"]  # 20 mugs, 8 a page


def test_the_due_pages_of_one_filter_set_are_checked_together_in_a_few_queries(client, catalog, monkeypatch):
    from unittest import mock

    from django.core.cache import caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from catalog.views import browse
    from etsy import cache
    from etsy.cache import aside

    monkeypatch.setattr(browse, "PER_PAGE", 8)
    shells = _warm_due_and_queue(client, [*NEWEST_MUGS, "/c/mugs/?sort=price_asc", "/c/art/"])
    kept = _revalidations("kept")
    with mock.patch.object(cache, "render_shell", wraps=cache.render_shell) as render:
        with CaptureQueriesContext(connection) as queries:
            assert aside.refresher.run_pending() == 5
    assert render.call_count == 0
    assert _revalidations("kept") == kept + 5
    # The mugs: their count, the three newest pages' cards, the cheapest page's cards, all their pictures; the art
    # page (another filter set) its own three.
    assert len(queries) == 4 + 3
    for key, shell in shells.items():
        _, kept_shell, fresh_until, _ = caches["default"].get(key)
        assert kept_shell == shell and fresh_until > __import__("time").time()


def test_a_changed_card_rebuilds_its_page_while_the_others_of_the_batch_are_kept(client, catalog, monkeypatch):
    from catalog.models import Product
    from catalog.views import browse
    from etsy.cache import aside

    monkeypatch.setattr(browse, "PER_PAGE", 8)
    _warm_due_and_queue(client, NEWEST_MUGS)
    on_page_2 = catalog["products"][8]  # newest first: mugs 19-12, 11-4, 3-0
    Product.objects.filter(pk=on_page_2.pk).update(title="Renamed without an event")
    kept, rebuilt = _revalidations("kept"), _revalidations("rebuilt")
    assert aside.refresher.run_pending() == 3
    assert (_revalidations("kept"), _revalidations("rebuilt")) == (kept + 2, rebuilt + 1)
    pages = [client.get(url).content.decode() for url in NEWEST_MUGS]
    assert ["Renamed without an event" in page for page in pages] == [False, True, False]


def test_a_check_that_fails_does_not_keep_the_others_of_its_batch_from_being_stamped(catalog):
    import time

    from django.core.cache import caches

    from catalog import selectors
    from catalog.shells import Revalidation, ShellCheck

    def check(key, page, *, signature, rebuild):
        caches["default"].set(key, ((), f"<p>{key}</p>", 0.0, signature), 120)
        revalidation = Revalidation(
            signature_of=lambda context: "",
            read_signatures=selectors.read_listing_signatures,
            page=page,
            group="one batch",
            build_fresh_context=dict,
        )
        return ShellCheck(
            key=key, entry=caches["default"].get(key), current=(), ttl=60, revalidation=revalidation, rebuild=rebuild
        )

    def failing_rebuild():
        raise RuntimeError("could not render")

    pages = [selectors.ListingPageQuery(category_slug="mugs", page=n, per_page=8) for n in (1, 2)]
    same = [
        check(f"page:t:{n}", p, signature=selectors.read_listing_signatures([p])[0], rebuild=None)
        for n, p in enumerate(pages)
    ]
    changed = check("page:t:changed", pages[0], signature="as it was", rebuild=failing_rebuild)
    changed.run_batch([changed, *same])
    assert [caches["default"].get(c.key)[2] > time.time() for c in same] == [True, True]
    assert caches["default"].get(changed.key)[2] == 0.0  # left due, for the next reader to queue again
    # A batch whose read fails (a page of a category since deleted) has each of its pages read on its own.
    for c in same:
        _make_due(c.key)
    gone = check("page:t:gone", selectors.ListingPageQuery(category_slug="gone"), signature="x", rebuild=None)
    gone.run_batch([gone, *same])
    assert [caches["default"].get(c.key)[2] > time.time() for c in same] == [True, True]


def test_signatures_read_together_are_each_page_s_and_cost_a_query_per_run_of_adjacent_pages(
    catalog, django_assert_num_queries
):
    from catalog import selectors

    selectors.get_category_tree()  # cached for an hour: not what a revalidation costs
    asked = [
        ("newest", 1),
        ("newest", 2),
        ("newest", 9),  # past the last page: no rows, no query
        ("price_asc", 3),  # merged per category (home-living has a subcategory), a run of its own
        ("price_asc", 2),
        ("popular", 1),
        ("popular", 3),  # not adjacent to page 1: read apart, not with page 2 between
    ]
    pages = [selectors.ListingPageQuery(category_slug="home-living", ordering=o, page=n, per_page=8) for o, n in asked]
    # The count; newest 1-2; price_asc 2-3's ids, then every merged card's fields; popular 1 and 3; the pictures.
    with django_assert_num_queries(1 + 1 + 2 + 2 + 1):
        signatures = selectors.read_listing_signatures(pages)
    built = [
        selectors.list_products_page(category_slug="home-living", ordering=o, page=n, per_page=8, fresh=True)
        for o, n in asked
    ]
    assert signatures == [page.signature() for page in built]
    assert [bool(page.products) for page in built] == [True, True, False, True, True, True, True]
