"""The search cache survives writes: a sale or an edit drops only the answers and pages that
show the listing; bulk and shop-wide changes drop everything."""

from decimal import Decimal

import pytest

from catalog.models import Product
from catalog.signals import products_changed
from search import caching
from search.selectors import search_products
from search.types import SearchParams
from shops.models import Shop
from shops.signals import shop_changed
from tests.catalog.factories import ProductFactory, set_listing_stock
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db


def listing(title, **kwargs):
    return ProductFactory(title=title, description="", tags=[], **kwargs)


def _sell(product, django_capture_on_commit_callbacks):
    """Take the last one as checkout does: a conditional update, then the signal after commit."""
    with django_capture_on_commit_callbacks(execute=True):
        set_listing_stock(Product.objects.get(pk=product.pk), quantity=0)
        products_changed.send(sender=Product, product_ids=[product.pk], reason="stock")


def test_a_sale_keeps_the_cached_answers_that_do_not_show_the_listing(
    django_capture_on_commit_callbacks, django_assert_num_queries
):
    wallet = listing("Leather wallet")
    mug = listing("Stoneware mug")
    params = SearchParams(q="leather wallet")
    search_products(params=params)

    _sell(mug, django_capture_on_commit_callbacks)

    with django_assert_num_queries(2):  # the page's listings and images: no search statement
        cached = search_products(params=params)
    assert [p.pk for p in cached.hits] == [wallet.pk]


def test_a_sale_rebuilds_the_answers_that_show_the_listing(django_capture_on_commit_callbacks):
    mug = listing("Stoneware mug")
    other = listing("Porcelain mug")
    params = SearchParams(q="mug")
    assert search_products(params=params).total == 2

    _sell(mug, django_capture_on_commit_callbacks)

    result = search_products(params=params)
    assert [p.pk for p in result.hits] == [other.pk] and result.total == 1


def test_an_edit_rebuilds_the_answers_that_show_the_listing(django_capture_on_commit_callbacks):
    mug = listing("Stoneware mug", price=Decimal("30.00"))
    params = SearchParams(q="mug")
    search_products(params=params)

    with django_capture_on_commit_callbacks(execute=True):
        mug.title = "Stoneware bowl"
        mug.save()

    assert search_products(params=params).total == 0


def test_a_stale_answer_never_shows_a_listing_sold_without_a_signal():
    # A write that skipped the signal (or one whose after-commit work is still queued): the
    # cached ids still hold the listing, the page does not.
    mug = listing("Stoneware mug")
    params = SearchParams(q="mug")
    search_products(params=params)
    set_listing_stock(Product.objects.get(pk=mug.pk), quantity=0)

    assert search_products(params=params).hits == []


def test_a_closed_shop_leaves_search_at_once(django_capture_on_commit_callbacks):
    shop = ShopFactory()
    listing("Stoneware mug", shop=shop)
    params = SearchParams(q="mug")
    search_products(params=params)

    with django_capture_on_commit_callbacks(execute=True):
        shop.is_active = False
        shop.save()

    assert search_products(params=params).total == 0


def test_a_shop_rating_change_keeps_the_cached_answers(django_capture_on_commit_callbacks):
    shop = ShopFactory()
    version = caching.listings_version()
    with django_capture_on_commit_callbacks(execute=True):
        Shop.objects.filter(pk=shop.pk).update(rating=Decimal("3.0"))
        shop_changed.send(sender=Shop, shop_id=shop.pk, fields=["rating", "review_count"])

    assert caching.listings_version() == version


def test_a_bulk_change_of_unnamed_listings_drops_every_answer(django_capture_on_commit_callbacks):
    version = caching.listings_version()
    with django_capture_on_commit_callbacks(execute=True):
        products_changed.send(sender=Product, product_ids=[], reason="bulk")

    assert caching.listings_version() == version + 1


def test_an_expired_stamp_never_keeps_a_wrong_answer(django_capture_on_commit_callbacks):
    mug = listing("Stoneware mug")
    params = SearchParams(q="mug")
    _sell(listing("Porcelain mug"), django_capture_on_commit_callbacks)  # a stamp on the page
    search_products(params=params)

    from django.core.cache import cache

    cache.delete_many([caching.listing_stamp_key(pk) for pk in (mug.pk,)])
    set_listing_stock(Product.objects.get(pk=mug.pk), quantity=0)
    caching.stamp_listings([mug.pk])

    assert search_products(params=params).total == 0


def test_results_page_survives_an_unrelated_sale_and_drops_a_sold_listing(
    client, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    mug = listing("Stoneware mug")
    vase = listing("Ash glaze vase")
    assert "Stoneware mug" in client.get("/search/", {"q": "mug"}).content.decode()

    _sell(vase, django_capture_on_commit_callbacks)
    with django_assert_max_num_queries(0):  # the cached page, untouched by the vase
        assert "Stoneware mug" in client.get("/search/", {"q": "mug"}).content.decode()

    _sell(mug, django_capture_on_commit_callbacks)
    assert "Stoneware mug" not in client.get("/search/", {"q": "mug"}).content.decode()


def test_an_answer_cached_by_the_previous_release_is_a_miss_not_an_error():
    from django.core.cache import cache

    from search.backends import BackendResult

    mug = listing("Stoneware mug")
    params = SearchParams(q="mug")
    key = caching.result_key(params, version=caching.listings_version())
    cache.set(key, BackendResult(ids=[], total=0))  # the old shape: the answer alone

    assert [p.pk for p in search_products(params=params).hits] == [mug.pk]


def test_stamping_listings_can_set_a_debounce_key_in_the_same_round_trip(redis_round_trips):
    from django.core.cache import cache

    key = "search:test-debounce"
    cache.delete(key)
    before = caching.read_listing_stamps([101, 102])
    redis_round_trips.clear()
    assert caching.stamp_listings([101, 102, 101], add=(key, 60)) is True
    assert len(redis_round_trips) == 1
    first = caching.read_listing_stamps([101, 102])
    assert all(stamp > old for stamp, old in zip(first, before, strict=True)) and first[0] == first[1]
    assert cache.get(key) == 1 and 55_000 < cache.client.get_client().pttl(cache.make_key(key)) <= 60_000
    stamp_ttl = cache.client.get_client().pttl(cache.make_key(caching.listing_stamp_key(101)))
    assert (caching.LISTING_STAMP_TTL - 5) * 1000 < stamp_ttl <= caching.LISTING_STAMP_TTL * 1000

    assert caching.stamp_listings([101], add=(key, 60)) is False  # it exists: not set again
    assert caching.read_listing_stamps([101])[0] > first[0]  # the stamp moved all the same
    assert caching.stamp_listings([102]) is False  # nothing to add
    cache.delete(key)


def test_sales_ask_for_one_vocabulary_refresh_until_it_runs(django_capture_on_commit_callbacks, redis_round_trips):
    from unittest import mock

    from django.core.cache import cache

    from search import tasks
    from search.receivers import VOCABULARY_PENDING_KEY, VOCABULARY_REFRESH_DELAY

    mug, jug = listing("Stoneware mug"), listing("Stoneware jug")
    cache.delete(VOCABULARY_PENDING_KEY)
    with mock.patch.object(tasks.refresh_search_vocabulary, "apply_async") as queued:
        redis_round_trips.clear()
        _sell(mug, django_capture_on_commit_callbacks)
        search_trips = [sent for sent in map(repr, redis_round_trips) if "search:" in sent]
        assert len(search_trips) == 1  # the stamp and the debounce key together
        assert "search:listing:" in search_trips[0] and VOCABULARY_PENDING_KEY in search_trips[0]
        _sell(jug, django_capture_on_commit_callbacks)
    queued.assert_called_once_with(countdown=VOCABULARY_REFRESH_DELAY)
    assert cache.get(VOCABULARY_PENDING_KEY) == 1

    cache.delete(VOCABULARY_PENDING_KEY)  # what the refresh does when it runs
    with mock.patch.object(tasks.refresh_search_vocabulary, "apply_async", side_effect=OSError("broker down")):
        _sell(listing("Stoneware bowl"), django_capture_on_commit_callbacks)
    assert cache.get(VOCABULARY_PENDING_KEY) is None  # not queued: the next change asks again
