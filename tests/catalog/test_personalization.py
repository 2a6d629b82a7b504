from decimal import Decimal

import pytest

from catalog import personalization, selectors, tasks
from catalog.models import ProductView
from tests.catalog.factories import CategoryFactory, FavoriteFactory, ProductFactory
from tests.orders.factories import OrderItemFactory
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db


def test_record_product_view_writes_nothing_to_the_database(product, buyer, django_assert_num_queries):
    with django_assert_num_queries(0):
        personalization.record_product_view(product_id=product.pk, category_id=product.category_id, user_id=buyer.pk)
    assert ProductView.objects.count() == 0
    assert personalization.list_recent_view_ids(user_id=buyer.pk, session_key=None) == [product.pk]


def test_flush_product_views_batches_rows_and_view_counts(product, buyer, category):
    other = ProductFactory(category=category)
    for _ in range(3):
        personalization.record_product_view(product_id=product.pk, category_id=category.pk, user_id=buyer.pk)
    personalization.record_product_view(product_id=other.pk, category_id=category.pk, session_key="abc")
    personalization.record_product_view(product_id=999999, category_id=category.pk)  # deleted since
    assert tasks.flush_product_views() == 4
    assert ProductView.objects.filter(product=product, user=buyer).count() == 3
    assert ProductView.objects.get(product=other).session_key == "abc"
    product.refresh_from_db()
    other.refresh_from_db()
    assert (product.view_count, other.view_count) == (3, 1)
    assert tasks.flush_product_views() == 0  # the buffer is drained: running twice writes once


def test_a_view_by_an_account_closed_before_the_flush_is_kept_as_a_visitors(product, category):
    from tests.accounts.factories import UserFactory

    gone, stays = UserFactory(), UserFactory()
    personalization.record_product_view(product_id=product.pk, category_id=category.pk, user_id=gone.pk)
    personalization.record_product_view(product_id=product.pk, category_id=category.pk, user_id=stays.pk)
    gone.delete()
    assert tasks.flush_product_views() == 2  # the batch is written, not lost to a foreign-key error
    assert sorted(ProductView.objects.values_list("user_id", flat=True), key=str) == sorted([None, stays.pk], key=str)
    product.refresh_from_db()
    assert product.view_count == 2


def test_product_page_view_is_buffered_and_counted_in_metrics(client, product):
    from etsy import metrics

    before = metrics.product_views.labels(category_id=str(product.category_id))._value.get()
    client.get(product.get_absolute_url())
    assert metrics.product_views.labels(category_id=str(product.category_id))._value.get() == before + 1
    personalization.send_buffered_views()  # the worker's batch (its sender thread would within a second)
    assert tasks.flush_product_views() == 1


@pytest.fixture
def market():
    ceramics = CategoryFactory(slug="ceramics")
    jewelry = CategoryFactory(slug="jewelry")
    shops = [ShopFactory() for _ in range(4)]
    mugs = [
        ProductFactory(shop=shops[i % 4], category=ceramics, price=Decimal("30") + i, tags=["mug", "blue"])
        for i in range(12)
    ]
    rings = [ProductFactory(shop=shops[i % 4], category=jewelry, price=Decimal("30"), tags=["ring"]) for i in range(8)]
    return {"ceramics": ceramics, "jewelry": jewelry, "mugs": mugs, "rings": rings, "shops": shops}


def test_fewer_than_five_views_gets_trending(buyer, market):
    for p in market["mugs"][:4]:
        personalization.record_product_view(product_id=p.pk, category_id=p.category_id, user_id=buyer.pk)
    feed = selectors.get_home_feed(user=buyer, session_key=None)
    assert [p.pk for p in feed] == [p.pk for p in selectors.list_trending_products()]


def test_five_views_personalize_from_top_category_excluding_seen_sold_out_and_purchased(buyer, market):
    seen = market["mugs"][:5]
    for p in seen:
        personalization.record_product_view(product_id=p.pk, category_id=p.category_id, user_id=buyer.pk)
    sold = market["mugs"][6]
    sold.quantity = 0
    sold.save()
    bought = market["mugs"][7]
    OrderItemFactory(order__buyer=buyer, order__shop=bought.shop, product=bought)
    feed = selectors.get_home_feed(user=buyer, session_key=None)
    ids = {p.pk for p in feed}
    assert ids  # personalized, not empty
    assert all(p.category_id == market["ceramics"].pk for p in feed)
    assert not ids & {p.pk for p in seen}
    assert sold.pk not in ids and bought.pk not in ids


def test_favorites_count_towards_the_feed(buyer, market):
    for p in market["mugs"][:5]:
        personalization.record_product_view(product_id=p.pk, category_id=p.category_id, user_id=buyer.pk)
    for r in market["rings"][:3]:
        FavoriteFactory(user=buyer, product=r)
    feed = selectors.get_home_feed(user=buyer, session_key=None)
    assert any(p.category_id == market["jewelry"].pk for p in feed)


def test_feed_spreads_across_shops():
    rows = [(i, 1) for i in range(6)] + [(10 + i, 2) for i in range(2)] + [(20, 3)]
    assert personalization._spread_across_shops(rows, limit=5, per_shop=2) == [0, 1, 10, 11, 20]


def test_compute_trending_caches_per_category_and_prefers_viewed(market, buyer):
    hot = market["rings"][5]
    for _ in range(3):
        personalization.record_product_view(product_id=hot.pk, category_id=hot.category_id, user_id=buyer.pk)
    tasks.flush_product_views()
    assert tasks.compute_trending() == 3  # all + two categories
    assert selectors.list_trending_products(category_id=market["jewelry"].pk)[0] == hot
    assert selectors.list_trending_products()[0] == hot
    assert all(
        p.category_id == market["ceramics"].pk
        for p in selectors.list_trending_products(category_id=market["ceramics"].pk)
    )


def test_home_page_personalizes_for_signed_in_buyers(client, buyer, market):
    client.force_login(buyer)
    for p in market["mugs"][:5]:
        client.get(p.get_absolute_url())
    html = client.get("/").content.decode()
    assert "Picked for you" in html


def test_recent_views_ask_the_database_once_when_redis_has_none(buyer, product, django_assert_num_queries):
    from django.utils import timezone

    ProductView.objects.create(product=product, user=buyer, viewed_at=timezone.now())
    with django_assert_num_queries(1):
        assert personalization.list_recent_view_ids(user_id=buyer.pk, session_key=None) == [product.pk]
    with django_assert_num_queries(0):
        assert personalization.list_recent_view_ids(user_id=buyer.pk, session_key=None) == [product.pk]


def test_a_buyer_without_views_is_remembered_as_such(buyer, django_assert_num_queries):
    assert personalization.list_recent_view_ids(user_id=buyer.pk, session_key=None) == []
    with django_assert_num_queries(0):
        assert personalization.list_recent_view_ids(user_id=buyer.pk, session_key=None) == []
