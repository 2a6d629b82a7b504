"""A due product page is checked against the database, not rebuilt: kept another TTL when what it shows reads the
same, rebuilt from the database when it changed behind the cache's back (``catalog.views.product.ProductPageCheck``)."""

import time
from decimal import Decimal
from unittest import mock

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from prometheus_client import REGISTRY

from tests.orders.factories import ReviewFactory
from tests.web.conftest import _media_root, catalog  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db


def _key(product):
    from etsy import cache

    return cache.product_page_key(product.pk)


def _revalidations(outcome: str) -> float:
    labels = {"kind": "page:product", "outcome": outcome}
    return REGISTRY.get_sample_value("etsy_page_revalidations_total", labels) or 0.0


def _warm(client, products):
    for p in products:
        assert client.get(p.get_absolute_url()).status_code == 200


def _due_and_queued(client, products) -> dict:
    """Stamp each page's copy due (Redis still holds it, as in the grace minute) and request it once: its check is
    queued. The records as they were."""
    redis = caches["default"]
    records = {}
    for p in products:
        record = redis.get(_key(p))
        records[p.pk] = record
        redis.set(_key(p), {**record, "fresh_until": 0.0}, 120)
    for p in products:
        assert client.get(p.get_absolute_url()).status_code == 200
    return records


@pytest.fixture
def reviewed(catalog):  # noqa: F811
    """The catalog with reviews of both shops (the product pages show each shop's latest three)."""
    for n, shop in enumerate([catalog["shop_a"], catalog["shop_b"], catalog["shop_b"]]):
        ReviewFactory(order__shop=shop, rating=4 + n % 2, comment=f"Lovely piece number {n}")
    return catalog


def test_the_signature_read_from_the_database_is_the_one_each_built_page_carries(client, reviewed):
    from catalog import selectors
    from catalog.models import Product

    products = reviewed["products"]
    Product.objects.filter(pk=products[3].pk).update(quantity=0)  # a sold-out page: its maker's pieces first
    shown = [products[0], products[3], products[7], products[25]]
    _warm(client, shown)
    carried = [caches["default"].get(_key(p))["signature"] for p in shown]
    assert selectors.read_product_page_signatures([p.pk for p in shown]) == carried
    assert len(set(carried)) == len(shown)
    # Similar lists expired (15 minutes) are drawn again, from the listing's narrow read, as the pages drew them.
    caches["default"].delete_pattern("product:*:similar")
    assert selectors.read_product_page_signatures([p.pk for p in shown]) == carried


def test_a_due_unchanged_page_is_kept_another_ttl_without_rendering_in_a_few_queries(client, reviewed):
    from etsy import cache
    from etsy.cache import aside

    product = reviewed["products"][5]
    _warm(client, [product])
    records = _due_and_queued(client, [product])
    caches["default"].delete(cache.shop_pages_key(product.shop_id))  # as if its shop's set had expired meanwhile
    kept, rebuilt = _revalidations("kept"), _revalidations("rebuilt")
    with mock.patch.object(cache, "render_shell", wraps=cache.render_shell) as render:
        with CaptureQueriesContext(connection) as queries:
            assert aside.refresher.run_pending() == 1
    assert render.call_count == 0
    # The listing with its category and shop, its choices, the shop's reviews, the breadcrumb's names, the similar
    # cards, every picture.
    assert len(queries) == 6
    assert (_revalidations("kept"), _revalidations("rebuilt")) == (kept + 1, rebuilt)
    record = caches["default"].get(_key(product))
    assert record["html"] == records[product.pk]["html"]
    assert record["fresh_until"] > time.time() + cache.TTL["page"] / 2
    # Kept, it is still one of its shop's pages: a shop edit drops it.
    cache.delete_set_members(cache.shop_pages_key(product.shop_id))
    assert caches["default"].get(_key(product)) is None


def test_the_due_pages_pending_together_are_read_together(client, reviewed):
    from etsy.cache import aside

    def check_queries(products) -> int:
        _warm(client, products)
        _due_and_queued(client, products)
        with CaptureQueriesContext(connection) as queries:
            assert aside.refresher.run_pending() == len(products)
        return len(queries)

    one = check_queries(reviewed["products"][:1])
    kept = _revalidations("kept")
    assert check_queries(reviewed["products"][1:13]) == one
    assert _revalidations("kept") == kept + 12


def _similar_card(product):
    from catalog import selectors

    return selectors.list_similar_products(product=product)[0]


def _offering_price_is(price):
    return lambda record: [o.price for o in record["product"].choices.offerings] == [price]


# Each change made behind the cache's back, and what the rebuilt page shows of it (its text, or a test of its record).
CHANGES = {
    "price": (lambda p, c: _update("catalog.Product", p.pk, price=Decimal("77.77")), "$77.77"),
    "title": (lambda p, c: _update("catalog.Product", p.pk, title="Renamed without an event"), "Renamed without"),
    "description": (lambda p, c: _update("catalog.Product", p.pk, description="Now glazed green"), "glazed green"),
    "picture": (lambda p, c: _update("catalog.ProductImage", None, product_id=p.pk, alt_text="Side view"), "Side view"),
    # A plain listing's one offering: its price is in the record's buy-box choices, not in the page's text.
    "offering price": (
        lambda p, c: _update("catalog.Offering", None, product_id=p.pk, price=Decimal("66.66")),
        _offering_price_is(Decimal("66.66")),
    ),
    "sold out": (lambda p, c: _update("catalog.Product", p.pk, quantity=0), "found its home"),
    "shop name": (lambda p, c: _update("shops.Shop", p.shop_id, name="Renamed Studio"), "Renamed Studio"),
    "review": (lambda p, c: _update("orders.Review", None, shop_id=p.shop_id, comment="Changed my mind"), "Changed my"),
    "category name": (lambda p, c: _update("catalog.Category", c["mugs"].pk, name="Cups and mugs"), "Cups and mugs"),
    "similar card price": (
        lambda p, c: _update("catalog.Product", _similar_card(p).pk, price=Decimal("55.55")),
        "$55.55",
    ),
    "similar card title": (
        lambda p, c: _update("catalog.Product", _similar_card(p).pk, title="Retitled neighbour"),
        "Retitled neighbour",
    ),
}


def _update(model: str, pk, **values):
    """A raw UPDATE, no signals: the change the event invalidation never hears of."""
    from django.apps import apps

    lookups = {name: values.pop(name) for name in list(values) if name.endswith("_id")}
    if pk is not None:
        lookups["pk"] = pk
    assert apps.get_model(model).objects.filter(**lookups).update(**values) >= 1


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_page_whose_shown_data_changed_behind_the_cache_is_rebuilt_from_the_database(client, reviewed, change):
    from etsy.cache import aside

    product = reviewed["products"][4]  # a mug of Paper Birds
    # A page sharing neither the changed shop nor the changed category: checked in the same batch, and kept (but a
    # shop's name shows on its cards too, among the other page's similar items: both are rebuilt).
    unchanged = reviewed["products"][5 if change in ("shop name", "review") else 27]
    rebuilt_pages = 2 if change == "shop name" else 1
    _warm(client, [product, unchanged])
    _due_and_queued(client, [product, unchanged])
    make_change, shown = CHANGES[change]
    make_change(product, reviewed)

    def shows_change() -> bool:
        if callable(shown):
            return shown(caches["default"].get(_key(product)))
        return shown in client.get(product.get_absolute_url()).content.decode()

    assert not shows_change()  # the due copy, not rebuilt yet
    kept, rebuilt = _revalidations("kept"), _revalidations("rebuilt")
    assert aside.refresher.run_pending() == 2
    assert (_revalidations("kept"), _revalidations("rebuilt")) == (kept + 2 - rebuilt_pages, rebuilt + rebuilt_pages)
    assert shows_change()


def test_a_failed_batch_read_falls_back_to_each_page_s_own(client, reviewed, monkeypatch):
    from catalog import selectors
    from etsy.cache import aside

    read = selectors.read_product_page_signatures

    def fails_for_many(product_ids):
        if len(product_ids) > 1:
            raise RuntimeError("the batch read failed")
        return read(product_ids)

    monkeypatch.setattr(selectors, "read_product_page_signatures", fails_for_many)
    products = reviewed["products"][:3]
    _warm(client, products)
    _due_and_queued(client, products)
    kept = _revalidations("kept")
    assert aside.refresher.run_pending() == 3
    assert _revalidations("kept") == kept + 3
    assert all(caches["default"].get(_key(p))["fresh_until"] > time.time() for p in products)


@pytest.mark.parametrize("gone", ["unlisted", "shop closed", "deleted"])
def test_a_page_whose_listing_nobody_may_see_now_is_dropped(client, reviewed, gone):
    from catalog.models import Product
    from etsy.cache import aside

    product, other = reviewed["products"][6], reviewed["products"][7]
    _warm(client, [product, other])
    _due_and_queued(client, [product, other])
    if gone == "unlisted":
        _update("catalog.Product", product.pk, is_active=False)
    elif gone == "shop closed":
        _update("shops.Shop", product.shop_id, is_active=False)
    else:
        Product.objects.filter(pk=product.pk).delete()
    assert aside.refresher.run_pending() == 2
    assert caches["default"].get(_key(product)) is None
    assert client.get(product.get_absolute_url()).status_code == 404
