"""Business metrics on /metrics move by the right amount after real actions (other areas' code)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from cart import services as cart_services
from cart.exceptions import ItemReserved
from cart.models import CartItem
from catalog import selectors as catalog_selectors
from catalog.personalization import record_product_view
from etsy.celery import app as celery_app
from search.selectors import search_products
from search.types import SearchParams
from tests.catalog.factories import ProductFactory

from .metrics_reading import moved, scrape

pytestmark = pytest.mark.django_db


def test_unique_item_holds_conflicts_and_expiry_are_counted(client, buyer, other_buyer, product):
    before = scrape(client)
    cart_services.add_item(user=buyer, product_id=product.pk)
    with pytest.raises(ItemReserved):
        cart_services.add_item(user=other_buyer, product_id=product.pk)
    CartItem.objects.filter(user=buyer).update(reserved_until=timezone.now() - timedelta(seconds=1))
    celery_app.loader.import_default_modules()
    celery_app.tasks["cart.tasks.cleanup_expired_reservations"].apply_async()  # as beat sends it
    after = scrape(client)

    assert moved(before, after, "etsy_reservations_created_total") == 1
    assert moved(before, after, "etsy_inventory_conflicts_total") == 1
    assert moved(before, after, "etsy_reservations_expired_total") == 1


def test_product_cache_miss_then_hit(client, product):
    before = scrape(client)
    catalog_selectors.get_product_detail(product_id=product.pk)
    middle = scrape(client)
    catalog_selectors.get_product_detail(product_id=product.pk)
    after = scrape(client)

    assert moved(before, middle, "etsy_cache_misses_total", cache_type="product") == 1
    assert moved(before, middle, "etsy_cache_hits_total", cache_type="product") == 0
    assert moved(middle, after, "etsy_cache_misses_total", cache_type="product") == 0
    assert moved(middle, after, "etsy_cache_hits_total", cache_type="product") == 1


def test_product_views_are_counted_by_category(client, product, category):
    before = scrape(client)
    for _ in range(3):
        record_product_view(product_id=product.pk, category_id=category.pk)
    after = scrape(client)
    assert moved(before, after, "etsy_product_views_total", category_id=str(category.pk)) == 3


def test_search_latency_queries_results_and_search_cache(client, shop, category):
    ProductFactory.create_batch(3, shop=shop, category=category, title="Blue ceramic mug")
    before = scrape(client)
    first = search_products(params=SearchParams(q="ceramic mug"))
    second = search_products(params=SearchParams(q="ceramic mug"))
    filtered = search_products(params=SearchParams(q="", category=category.slug))
    after = scrape(client)

    assert first.total == second.total == 3 and filtered.total == 3
    assert moved(before, after, "etsy_search_queries_total", has_filters="false") == 2
    assert moved(before, after, "etsy_search_queries_total", has_filters="true") == 1
    assert moved(before, after, "etsy_search_latency_seconds_count", query_type="keyword") == 2
    assert moved(before, after, "etsy_search_latency_seconds_count", query_type="browse") == 1
    assert moved(before, after, "etsy_search_latency_seconds_bucket", query_type="keyword", le="+Inf") == 2
    assert moved(before, after, "etsy_search_results_count_count") == 3
    assert moved(before, after, "etsy_search_results_count_sum") == 9
    assert moved(before, after, "etsy_search_results_count_bucket", le="5.0") == 3
    assert moved(before, after, "etsy_search_results_count_bucket", le="1.0") == 0
    assert moved(before, after, "etsy_cache_misses_total", cache_type="search") == 2
    assert moved(before, after, "etsy_cache_hits_total", cache_type="search") == 1
    latency_buckets = {
        dict(labels)["le"]
        for (name, labels) in after.samples
        if name == "etsy_search_latency_seconds_bucket" and dict(labels)["query_type"] == "keyword"
    }
    assert latency_buckets == {"0.01", "0.05", "0.1", "0.2", "0.3", "0.5", "1.0", "+Inf"}


def test_every_documented_metric_is_exposed_with_its_buckets(client):
    text = client.get("/metrics").content.decode()
    for name in [
        "etsy_product_views_total",
        "etsy_search_latency_seconds",
        "etsy_search_queries_total",
        "etsy_search_results_count",
        "etsy_orders_created_total",
        "etsy_orders_by_shop_total",
        "etsy_order_value_dollars",
        "etsy_checkout_duration_seconds",
        "etsy_cache_hits_total",
        "etsy_cache_misses_total",
        "etsy_circuit_breaker_state",
        "etsy_reservations_created_total",
        "etsy_reservations_expired_total",
        "etsy_inventory_conflicts_total",
    ]:
        assert f"# TYPE {name.removesuffix('_total')}" in text, name
    for bucket in ["10.0", "25.0", "50.0", "100.0", "250.0", "500.0", "+Inf"]:
        assert f'etsy_order_value_dollars_bucket{{le="{bucket}"}}' in text
    for bucket in ["0.1", "0.2", "0.3", "0.5", "1.0", "2.0", "+Inf"]:
        assert f'etsy_checkout_duration_seconds_bucket{{le="{bucket}"}}' in text
    assert 'etsy_circuit_breaker_state{service="elasticsearch"}' in text
    assert 'etsy_circuit_breaker_state{service="payment"}' in text
