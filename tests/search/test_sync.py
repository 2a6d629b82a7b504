"""Index sync and cache invalidation: exactly once, never on rollback, never lost to a broker outage.

Index work is an outbox row written with the change (search/events.py); the Elasticsearch edge is
``search.indexing``, patched here (no cluster runs on these machines).
"""

from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection, transaction
from django.test import override_settings

from catalog.models import Product
from catalog.signals import products_changed
from etsy.outbox.models import OutboxMessage
from etsy.outbox.services import relay_pending
from search import caching, events, indexing, tasks
from search.selectors import search_products
from search.types import SearchParams
from shops.signals import shop_changed
from tests.catalog.factories import ProductFactory
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db

ES_ON = override_settings(ELASTICSEARCH_URL="http://es.invalid:9200")


@pytest.fixture
def index_calls():
    with (
        mock.patch("search.indexing.index_products") as products,
        mock.patch("search.indexing.index_shop_products") as shops,
        mock.patch.object(tasks.refresh_search_vocabulary, "apply_async") as vocabulary,
    ):
        yield {"products": products, "shops": shops, "vocabulary": vocabulary}


@ES_ON
def test_saving_a_product_enqueues_exactly_one_index_update_after_commit(
    index_calls, django_capture_on_commit_callbacks
):
    product = ProductFactory()
    with django_capture_on_commit_callbacks(execute=True):
        product.price = Decimal("99.00")
        product.save()
        assert index_calls["products"].call_count == 0  # nothing before commit

    index_calls["products"].assert_called_once_with([product.pk])


@ES_ON
def test_rolled_back_save_enqueues_nothing(index_calls, django_capture_on_commit_callbacks):
    product = ProductFactory()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                product.title = "Changed"
                product.save()
                raise RuntimeError("boom")

    assert callbacks == []
    index_calls["products"].assert_not_called()


@ES_ON
def test_products_changed_signal_reindexes_those_products_once(index_calls, django_capture_on_commit_callbacks):
    a, b = ProductFactory(), ProductFactory()
    with django_capture_on_commit_callbacks(execute=True):
        Product.objects.filter(pk__in=[a.pk, b.pk]).update(quantity=0)
        products_changed.send(sender=Product, product_ids=[a.pk, b.pk], reason="stock")

    index_calls["products"].assert_called_once_with([a.pk, b.pk])


@ES_ON
def test_deleting_a_product_enqueues_its_removal(index_calls, django_capture_on_commit_callbacks):
    product = ProductFactory()
    pk = product.pk
    with django_capture_on_commit_callbacks(execute=True):
        product.delete()

    index_calls["products"].assert_called_once_with([pk])


@ES_ON
def test_shop_rating_change_reindexes_its_products(index_calls, django_capture_on_commit_callbacks):
    shop = ShopFactory()
    with django_capture_on_commit_callbacks(execute=True):
        shop_changed.send(sender=type(shop), shop_id=shop.pk, fields=["rating"])
    index_calls["shops"].assert_called_once_with(shop.pk)

    index_calls["shops"].reset_mock()
    with django_capture_on_commit_callbacks(execute=True):
        shop.rating = Decimal("3.9")
        shop.save()
    index_calls["shops"].assert_called_once_with(shop.pk)


def test_without_elasticsearch_no_index_task_but_listing_is_stamped(index_calls, django_capture_on_commit_callbacks):
    product = ProductFactory()
    version = caching.listings_version()
    (before,) = caching.read_listing_stamps([product.pk])
    with django_capture_on_commit_callbacks(execute=True):
        product.save()

    index_calls["products"].assert_not_called()
    assert caching.read_listing_stamps([product.pk]) != (before,)
    assert caching.listings_version() == version  # the other cached answers stay
    index_calls["vocabulary"].assert_called_once()


def test_vocabulary_refresh_is_requested_once_for_a_burst_of_edits(index_calls, django_capture_on_commit_callbacks):
    products = [ProductFactory() for _ in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        for product in products:
            product.save()

    index_calls["vocabulary"].assert_called_once()


def test_cached_answer_is_served_until_a_listing_changes(django_capture_on_commit_callbacks, django_assert_num_queries):
    product = ProductFactory(title="Leather wallet")
    params = SearchParams(q="leather wallet")
    assert search_products(params=params).total == 1

    with django_assert_num_queries(2):  # listings + images; no search query
        cached = search_products(params=params)
    assert [p.pk for p in cached.hits] == [product.pk]

    with django_capture_on_commit_callbacks(execute=True):
        product.title = "Canvas tote"
        product.save()

    assert search_products(params=params).total == 0


@ES_ON
def test_index_task_indexes_existing_products_and_deletes_missing_ones():
    product = ProductFactory()
    gone_id = product.pk + 1000
    connection = mock.Mock()
    with (
        mock.patch("search.documents.ProductDocument.update") as update,
        mock.patch("search.documents.ProductDocument._get_connection", return_value=connection),
    ):
        assert indexing.index_products([product.pk, gone_id]) == 1

    (indexed,), _ = update.call_args
    assert [p.pk for p in indexed] == [product.pk]
    connection.delete.assert_called_once_with(index="products", id=gone_id, ignore_status=404)


def test_index_task_is_a_no_op_without_elasticsearch():
    product = ProductFactory()
    with mock.patch("search.documents.ProductDocument.update") as update:
        assert indexing.index_products([product.pk]) == 0
    update.assert_not_called()


@ES_ON
def test_a_broker_outage_delays_the_index_update_and_loses_none(index_calls, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    from etsy.outbox.tasks import process_outbox_message

    product = ProductFactory()
    OutboxMessage.objects.all().delete()  # the factory's own row: this test follows one edit
    with mock.patch.object(process_outbox_message, "apply_async", side_effect=ConnectionError("broker down")):
        with django_capture_on_commit_callbacks(execute=True):
            product.price = Decimal("12.00")
            product.save()  # the writer never sees the outage
    index_calls["products"].assert_not_called()
    (row,) = OutboxMessage.objects.filter(topic=events.TOPIC_INDEX_PRODUCTS, processed_at__isnull=True)
    assert row.payload == {"product_ids": [product.pk]}

    with django_capture_on_commit_callbacks(execute=True):  # the broker is back: beat's sweep hands it over
        assert relay_pending(now=timezone.now() + timedelta(minutes=1)) == 1
    index_calls["products"].assert_called_once_with([product.pk])
    row.refresh_from_db()
    assert row.processed_at is not None


@ES_ON
def test_search_rows_run_on_the_search_queue(index_calls, django_capture_on_commit_callbacks):
    from django.conf import settings

    from etsy.outbox.tasks import process_outbox_message

    product = ProductFactory()
    with mock.patch.object(process_outbox_message, "apply_async") as sent:
        with django_capture_on_commit_callbacks(execute=True):
            product.save()
    assert sent.call_args.kwargs["queue"] == "search" + settings.TASK_QUEUE_SUFFIX


@ES_ON
def test_a_cluster_error_is_retried_by_the_outbox_not_lost(index_calls, django_capture_on_commit_callbacks):
    index_calls["products"].side_effect = ConnectionError("cluster down")
    product = ProductFactory()
    OutboxMessage.objects.all().delete()  # the factory's own row: this test follows one edit
    with django_capture_on_commit_callbacks(execute=True):
        product.save()
    row = OutboxMessage.objects.get(topic=events.TOPIC_INDEX_PRODUCTS, payload__product_ids=[product.pk])
    assert row.processed_at is None and row.failures == 1 and row.next_attempt_at is not None


def test_search_on_an_empty_vocabulary_asks_for_a_refresh(index_calls):
    # Test flushes truncate tables, not materialized views: start from the empty vocabulary.
    with connection.cursor() as cursor:
        cursor.execute("REFRESH MATERIALIZED VIEW search_vocabulary")
    ProductFactory(title="Leather wallet")  # created without running on-commit work: no refresh yet

    search_products(params=SearchParams(q="walet"))
    search_products(params=SearchParams(q="lether"))

    index_calls["vocabulary"].assert_called_once()
