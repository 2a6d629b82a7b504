"""The worker's near copies of product pages and stock: served without Redis, dropped the moment Redis says so."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
import redis
from django.conf import settings
from django.core.cache import caches
from django.test import override_settings

from catalog import personalization
from etsy import cache, near_cache
from tests.worker import run_in_another_process


@pytest.fixture
def round_trips(monkeypatch):
    """Count the Redis pipelines sent (etsy.cache.read_with sends one per round trip)."""
    real = redis.client.Pipeline.execute
    sent = []

    def counting(self, *args, **kwargs):
        sent.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(redis.client.Pipeline, "execute", counting)
    return sent


@pytest.fixture
def other_process():
    """A plain Redis connection, writing as another process would (no local forgetting here)."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    yield client
    client.close()


def raw(key: str) -> str:
    return caches["default"].make_key(key)


def tracked() -> near_cache.NearCache:
    near = near_cache.get()
    assert near is not None and near.sync(), "the invalidation listener did not start"
    return near


def test_a_second_read_is_answered_locally_without_a_round_trip(db, round_trips):
    near = tracked()
    key = cache.inventory_key(1)
    cache.set(key, "in stock", ttl=30)
    assert near.sync()  # the write's own message is in: a read racing it would not be kept
    assert cache.read_with([key], near_keys=(key,))[key] == "in stock"
    assert len(round_trips) == 1
    assert cache.read_with([key], near_keys=(key,))[key] == "in stock"
    assert len(round_trips) == 1  # the second read never left the process


def test_keys_not_named_near_are_always_read_from_redis(db, round_trips):
    tracked()
    key = cache.inventory_key(2)
    cache.set(key, 5, ttl=30)
    for _ in range(2):
        assert cache.read_with([key])[key] == 5
    assert len(round_trips) == 2


def test_another_process_writing_or_deleting_the_key_drops_the_local_copy(db, other_process):
    near = tracked()
    key = cache.product_page_key(3)
    cache.set(key, {"html": "old"}, ttl=60)
    assert near.sync()
    assert cache.read_with([key], near_keys=(key,))[key] == {"html": "old"}
    assert near.lookup([raw(key)])

    caches["strict"].set(key, {"html": "new"}, 60)  # through a connection of its own: no local forgetting
    assert near.sync()
    assert cache.read_with([key], near_keys=(key,))[key] == {"html": "new"}

    other_process.delete(raw(key))
    assert near.sync()
    assert key not in cache.read_with([key], near_keys=(key,))


def test_a_copy_lives_no_longer_than_the_key_does_in_redis(db, other_process):
    near = tracked()
    key = cache.inventory_key(4)
    caches["strict"].set(key, "only 1 left", 1)
    other_process.pexpire(raw(key), 400)  # a stock count about to expire
    assert near.sync()
    assert cache.read_with([key], near_keys=(key,))[key] == "only 1 left"
    assert near.lookup([raw(key)])
    time.sleep(0.5)
    assert near.lookup([raw(key)]) == {}  # gone at its Redis expiry, whether or not the message came


def test_a_read_that_raced_a_write_is_not_kept(db, other_process):
    near = tracked()
    key = raw(cache.inventory_key(5))
    since = near.snapshot()  # a reader starts its Redis read ...
    other_process.set(key, "changed", ex=30)  # ... a write lands and its message arrives first
    assert near.sync()
    near.store({key: ("what the reader saw", 30_000)}, since)
    assert near.lookup([key]) == {}
    near.store({key: ("read after the write", 30_000)}, near.snapshot())
    assert near.lookup([key]) == {key: "read after the write"}


def test_this_process_writes_forget_the_copy_at_once(db):
    tracked()
    key = cache.product_page_key(6)
    cache.set(key, "v1", ttl=60)
    cache.read_with([key], near_keys=(key,))
    cache.delete(key)  # no waiting for Redis's message
    assert key not in cache.read_with([key], near_keys=(key,))
    cache.set(key, "v2", ttl=60)
    assert cache.read_with([key], near_keys=(key,))[key] == "v2"


def test_a_flush_drops_every_copy(db):
    near = tracked()
    near.store({raw(cache.inventory_key(7)): ("x", 30_000)}, near.snapshot())
    near._on_invalidate([b"invalidate", None])  # what Redis sends on FLUSHDB
    assert len(near) == 0


def test_a_lost_connection_drops_the_copies_and_serves_nothing_until_tracking_again(db, other_process):
    near = tracked()
    key = cache.inventory_key(8)
    cache.set(key, "held", ttl=30)
    assert near.sync()
    cache.read_with([key], near_keys=(key,))
    assert near.lookup([raw(key)])

    tracking_ids = [int(c["id"]) for c in other_process.client_list() if "t" in c["flags"]]
    tracking_ids = [i for i in tracking_ids if i == near.client_id]
    assert tracking_ids, "the listener's connection is not among Redis's tracking clients"
    other_process.execute_command("CLIENT", "KILL", "ID", tracking_ids[0])
    deadline = time.monotonic() + 5
    while near.client_id == tracking_ids[0] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert near.client_id != tracking_ids[0], "the listener did not reconnect"
    assert near.lookup([raw(key)]) == {}  # every copy went with the connection
    assert near.sync()
    assert cache.read_with([key], near_keys=(key,))[key] == "held"
    assert near.lookup([raw(key)])


def test_with_the_near_cache_off_every_read_goes_to_redis(db, round_trips):
    key = cache.inventory_key(9)
    cache.set(key, 1, ttl=30)
    with override_settings(NEAR_CACHE_ENABLED=False):
        for _ in range(2):
            assert cache.read_with([key], near_keys=(key,))[key] == 1
    assert len(round_trips) == 2


def test_an_anonymous_visitors_repeat_view_costs_no_query_and_no_redis_round_trip(
    client, product, round_trips, django_assert_num_queries
):
    near = tracked()
    url = product.get_absolute_url()
    assert client.get(url).status_code == 200  # builds the page and the stock count
    assert near.sync()
    assert client.get(url).status_code == 200  # reads them and keeps them
    trips = len(round_trips)
    with django_assert_num_queries(0):
        response = client.get(url)
    assert response.status_code == 200 and product.title in response.content.decode()
    assert len(round_trips) == trips
    assert "csrftoken" in response.cookies  # the buy box's form still gets its token


def test_anonymous_views_reach_the_redis_buffer_in_batches(client, product, monkeypatch):
    from catalog import tasks

    tracked()
    personalization.send_buffered_views()  # start a fresh batch
    monkeypatch.setattr(personalization, "VIEWS_FLUSH_SECONDS", 60)
    monkeypatch.setattr(personalization, "VIEWS_BATCH", 3)
    tasks.flush_product_views()
    url = product.get_absolute_url()
    client.get(url)
    client.get(url)
    assert tasks.flush_product_views() == 0  # two views wait in the worker
    client.get(url)
    assert tasks.flush_product_views() == 3  # the third filled the batch


def test_a_signed_in_buyers_view_is_remembered_before_this_process_reads_their_recent_views(client, product, buyer):
    client.force_login(buyer)
    client.get(product.get_absolute_url())
    assert personalization.list_recent_view_ids(user_id=buyer.pk, session_key=None)[:1] == [product.pk]


def test_a_warm_signed_in_product_page_makes_no_redis_round_trip(client, product, buyer, round_trips):
    from tests.catalog.factories import FavoriteFactory

    FavoriteFactory(user=buyer, product=product)
    client.force_login(buyer)
    near = tracked()
    url = product.get_absolute_url()
    client.get(url)  # builds the page, the stock count, the favorites, the cart badge and the unread count
    personalization.send_buffered_views()
    assert near.sync()
    client.get(url)  # reads them from Redis and keeps them
    trips = len(round_trips)
    response = client.get(url)
    assert len(round_trips) == trips  # session, account, page, stock, favorites, badges: all near copies
    assert "In your favorites" in response.content.decode()


def test_views_of_several_buyers_sent_in_one_batch_keep_each_buyers_order(product, buyer, other_buyer, category):
    from tests.catalog.factories import ProductFactory

    second = ProductFactory(shop=product.shop, category=category)
    personalization.send_buffered_views()
    for product_id, user_id in [(product.pk, buyer.pk), (second.pk, other_buyer.pk), (second.pk, buyer.pk)]:
        personalization.buffer_view(product_id=product_id, user_id=user_id)
    assert personalization.send_buffered_views() == 3
    assert personalization.list_recent_view_ids(user_id=buyer.pk, session_key=None)[:2] == [second.pk, product.pk]
    assert personalization.list_recent_view_ids(user_id=other_buyer.pk, session_key=None)[:1] == [second.pk]


def test_the_workers_sender_thread_sends_buffered_views_without_a_further_request(product, monkeypatch):
    from catalog import tasks

    personalization.send_buffered_views()
    tasks.flush_product_views()
    monkeypatch.setattr(personalization, "VIEWS_FLUSH_SECONDS", 0.05)
    personalization.buffer_view(product_id=product.pk)
    buffer = redis.Redis.from_url(settings.REDIS_URL)
    deadline = time.monotonic() + 10
    while not buffer.llen(personalization.views_buffer_key()) and time.monotonic() < deadline:
        time.sleep(0.01)
    buffer.close()
    assert tasks.flush_product_views() == 1


@pytest.mark.django_db(transaction=True)
def test_a_price_changed_by_another_process_shows_on_the_next_view(client, product):
    near = tracked()
    url = product.get_absolute_url()
    client.get(url)
    assert near.sync()
    client.get(url)  # the page and its stock count are now this process's own copies
    assert near.lookup([raw(cache.product_page_key(product.pk))])
    run_in_another_process(
        "from decimal import Decimal; from catalog.models import Product; "
        f"p = Product.objects.get(pk={product.pk}); p.price = Decimal('987.65'); p.save()"
    )
    assert near.sync()
    assert "987.65" in client.get(url).content.decode()
    product.refresh_from_db()
    assert product.price == Decimal("987.65")
