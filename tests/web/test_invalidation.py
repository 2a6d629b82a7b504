"""After a write commits, the next page view shows it (event-driven invalidation, not TTLs)."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cart.models import CartItem
from catalog.models import Product
from catalog.signals import products_changed
from etsy import near_cache
from shops.signals import shop_changed
from tests.catalog.factories import set_listing_stock

pytestmark = pytest.mark.django_db


def _warm(client, *urls):
    for url in urls:
        assert client.get(url).status_code == 200


def test_seller_price_edit_shows_on_product_category_and_shop_pages(
    client, catalog, django_capture_on_commit_callbacks
):
    product = catalog["products"][5]
    urls = [product.get_absolute_url(), "/c/home-living/?sort=price_asc", "/shops/clay-studio/"]
    _warm(client, *urls)
    with django_capture_on_commit_callbacks(execute=True):
        product.price = Decimal("77.77")
        product.save()
    for url in urls:
        assert "$77.77" in client.get(url).content.decode(), url


def test_product_sold_through_a_bulk_update_shows_as_sold(client, catalog, django_capture_on_commit_callbacks):
    product = catalog["products"][7]
    _warm(client, product.get_absolute_url(), "/c/mugs/")
    assert product.title in client.get("/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        set_listing_stock(Product.objects.get(pk=product.pk), quantity=0)  # how checkout decrements stock
        products_changed.send(sender=Product, product_ids=[product.pk], reason="stock")
    html = client.get(product.get_absolute_url()).content.decode()
    assert "Sold out" in html and "Add to cart" not in html
    assert product.title not in client.get("/c/mugs/").content.decode()  # listings show in-stock items
    assert product.title not in client.get("/").content.decode()  # trending recomputed


def test_product_sold_by_a_sender_that_names_its_listings_shows_as_sold_without_reading_them(
    client, catalog, django_capture_on_commit_callbacks
):
    product = catalog["products"][7]
    _warm(client, product.get_absolute_url(), "/c/mugs/")
    assert product.title in client.get("/").content.decode()
    set_listing_stock(Product.objects.get(pk=product.pk), quantity=0)  # as checkout takes stock: no model signals
    listings = {product.pk: (product.category_id, product.shop_id)}  # as checkout knows them, under its locks
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        products_changed.send(sender=Product, product_ids=[product.pk], reason="stock", listings=listings)
    # The listings' categories and shops are not read again (the search vocabulary's eager refresh may run).
    assert not [q["sql"] for q in queries.captured_queries if "catalog_product" in q["sql"]]
    html = client.get(product.get_absolute_url()).content.decode()
    assert "Sold out" in html and "Add to cart" not in html
    assert product.title not in client.get("/c/mugs/").content.decode()
    assert product.title not in client.get("/").content.decode()


def test_cart_hold_by_another_buyer_shows_at_once(client, catalog, other_buyer, django_capture_on_commit_callbacks):
    from django.utils import timezone

    from tests.cart.factories import CartItemFactory

    product = catalog["products"][8]
    _warm(client, product.get_absolute_url())
    with django_capture_on_commit_callbacks(execute=True):
        CartItemFactory(
            user=other_buyer, product=product, reserved_until=timezone.now() + timezone.timedelta(minutes=15)
        )
    assert "Another buyer has this in their cart" in client.get(product.get_absolute_url()).content.decode()


def test_shop_rating_change_shows_on_product_page(client, catalog, django_capture_on_commit_callbacks):
    from shops.models import Shop

    product = catalog["products"][1]  # Clay Studio, 4.8
    _warm(client, product.get_absolute_url(), "/shops/clay-studio/")
    with django_capture_on_commit_callbacks(execute=True):
        Shop.objects.filter(pk=catalog["shop_a"].pk).update(rating=Decimal("3.1"), review_count=9)
        shop_changed.send(sender=Shop, shop_id=catalog["shop_a"].pk, fields=["rating", "review_count"])
    assert "rated 3.1 out of 5" in client.get(product.get_absolute_url()).content.decode()
    assert "(9 reviews)" in client.get("/shops/clay-studio/").content.decode()


def test_new_category_appears_after_commit(client, catalog, django_capture_on_commit_callbacks):
    from tests.catalog.factories import CategoryFactory

    _warm(client, "/")
    with django_capture_on_commit_callbacks(execute=True):
        CategoryFactory(name="Garden", slug="garden")
    assert client.get("/c/garden/").status_code == 200


def test_rolled_back_write_invalidates_nothing(client, catalog, django_capture_on_commit_callbacks):
    from django.db import transaction

    product = catalog["products"][5]
    _warm(client, product.get_absolute_url())
    with django_capture_on_commit_callbacks() as callbacks:
        try:
            with transaction.atomic():
                set_listing_stock(Product.objects.get(pk=product.pk), price=Decimal("1.00"))
                product.refresh_from_db()
                product.save()
                raise RuntimeError("rollback")
        except RuntimeError:
            pass
    assert callbacks == []


def test_cart_badge_follows_cart_changes(client, catalog, buyer, django_capture_on_commit_callbacks):
    client.force_login(buyer)
    assert "data-cart-count>0<" in client.get("/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/cart/add/{catalog['products'][0].pk}/")
    assert "data-cart-count>1<" in client.get("/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/cart/remove/{CartItem.objects.get(user=buyer).pk}/")
    assert "data-cart-count>0<" in client.get("/").content.decode()


# --- a page past its freshness: one request rebuilds it, the others answer with the copy --------


def _expire_product_page(product) -> dict:
    """Make the cached page of ``product`` past its freshness, as five minutes would."""
    from django.core.cache import caches

    from etsy import cache

    key = cache.product_page_key(product.pk)
    record = caches["default"].get(key)
    record["fresh_until"] = 0.0
    caches["default"].set(key, record, 60)
    caches["default"].delete(cache.product_key(product.pk))  # the product data's own 5 minutes are up too
    assert near_cache.sync()  # as another process's write would, it reaches this worker's copies
    return record


def test_a_page_past_its_freshness_is_answered_with_its_copy_and_rebuilt_after_the_response(client, catalog):
    from django.core.cache import caches

    from etsy import cache
    from etsy.cache import aside

    product = catalog["products"][2]
    _warm(client, product.get_absolute_url())
    Product.objects.filter(pk=product.pk).update(title="Renamed without a signal")  # only the TTL can show it
    assert "Renamed without a signal" not in client.get(product.get_absolute_url()).content.decode()
    _expire_product_page(product)
    assert "Renamed without a signal" not in client.get(product.get_absolute_url()).content.decode()  # the copy
    assert aside.refresher.pending() == 1
    assert aside.refresher.run_pending() == 1  # what the process's refresher thread does after the response
    assert "Renamed without a signal" in client.get(product.get_absolute_url()).content.decode()
    assert caches["default"].get(cache.product_page_key(product.pk))["fresh_until"] > 0  # stored fresh again


def test_a_product_page_cached_before_the_views_became_a_package_is_still_served(client, catalog, monkeypatch):
    """Records cached while the views were one module pickled their buy box product as
    ``catalog.views.PageProduct``; after the deploy that split them, a page view still reads them."""
    from django.core.cache import caches

    from catalog import views
    from catalog.views.buy_box import PageProduct
    from etsy import cache

    product = catalog["products"][3]
    _warm(client, product.get_absolute_url())
    key = cache.product_page_key(product.pk)
    raw = caches["default"].client.get_client().get(cache.raw_key(key))
    assert b"catalog.views" in raw and b"catalog.views.buy_box" not in raw  # what the code before the split reads
    record = caches["default"].get(key)
    record["html"] = record["html"].replace(product.title, "Kept from before the split")
    with monkeypatch.context() as patch:
        patch.setattr(PageProduct, "__module__", "catalog.views")  # the path the old records name
        patch.setattr(views, "PageProduct", PageProduct, raising=False)  # the old module had it: pickle checks
        caches["default"].set(key, record, 60)
    assert near_cache.sync()  # as another process's write would, it reaches this worker's copies
    response = client.get(product.get_absolute_url())
    assert response.status_code == 200
    assert "Kept from before the split" in response.content.decode()


@pytest.mark.parametrize("built_by", ["request", "refresher"])
def test_a_product_page_copy_outlives_its_freshness_by_the_whole_grace_minute(client, catalog, built_by):
    """However it was built, a copy is kept STALE_GRACE_SECONDS past its own (jittered) freshness: the
    refresher's window. Jittered twice, a copy built on a request could vanish before it was even due."""
    import time
    from unittest import mock

    from django.core.cache import caches

    from etsy import cache
    from etsy.cache import aside

    product = catalog["products"][3]
    with mock.patch("etsy.cache.store.random.randint", side_effect=lambda low, high: high):  # the most jitter
        _warm(client, product.get_absolute_url())
        if built_by == "refresher":
            _expire_product_page(product)
            _warm(client, product.get_absolute_url())
            assert aside.refresher.run_pending() == 1
    record = caches["default"].get(cache.product_page_key(product.pk))
    kept = caches["default"].ttl(cache.product_page_key(product.pk))
    fresh_for = record["fresh_until"] - time.time()
    assert fresh_for == pytest.approx(cache.TTL["page"] * (1 - cache.TTL_JITTER), abs=2)
    assert kept >= fresh_for + cache.STALE_GRACE_SECONDS - 2, (kept, fresh_for)


def test_a_stale_page_is_queued_once_however_many_readers_find_it(client, catalog):
    from etsy.cache import aside

    product = catalog["products"][2]
    _warm(client, product.get_absolute_url())
    _expire_product_page(product)
    for _ in range(3):
        assert client.get(product.get_absolute_url()).status_code == 200
    assert aside.refresher.pending() == 1


@pytest.mark.django_db(transaction=True)  # the thread reads with its own connection: the data must be committed
def test_the_refresher_thread_rebuilds_a_stale_page_without_a_request(client, catalog, monkeypatch):
    import time

    from django.core.cache import caches

    from etsy import cache
    from etsy.cache import aside

    product = catalog["products"][2]
    _warm(client, product.get_absolute_url())
    Product.objects.filter(pk=product.pk).update(title="Renamed for the thread")
    _expire_product_page(product)
    refresher = aside._Refresher()  # a thread of its own, as a web process has
    monkeypatch.setattr(aside, "refresher", refresher)
    client.get(product.get_absolute_url())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "Renamed for the thread" not in str(
        caches["default"].get(cache.product_page_key(product.pk), {}).get("html", "")
    ):
        time.sleep(0.02)
    assert "Renamed for the thread" in caches["default"].get(cache.product_page_key(product.pk))["html"]


def test_when_many_pages_go_stale_together_a_process_spends_a_share_of_its_time_refreshing(
    client, catalog, monkeypatch
):
    from etsy.cache import aside

    products = catalog["products"][:3]
    _warm(client, *[p.get_absolute_url() for p in products])
    for p in products:
        Product.objects.filter(pk=p.pk).update(title=f"Renamed {p.pk}")
        _expire_product_page(p)
    budget = aside._RefreshBudget(share=0.0001, burst=0.0001)  # time for one refresh now, then none for a while
    monkeypatch.setattr(aside, "refresh_budget", budget)
    # Due product pages pending together are checked as one batch, one piece of the budget's work: one a batch here.
    monkeypatch.setattr(aside, "MAX_BATCH", 1)
    for p in products:
        client.get(p.get_absolute_url())
    assert aside.refresher.run_pending() == 1
    pages = [client.get(p.get_absolute_url()).content.decode() for p in products]
    assert [f"Renamed {p.pk}" in page for p, page in zip(products, pages, strict=True)] == [True, False, False]
    budget.refill()  # a second later
    aside.refresher.run_pending()
    assert f"Renamed {products[1].pk}" in client.get(products[1].get_absolute_url()).content.decode()


def test_while_another_process_rebuilds_a_page_a_view_answers_with_the_copy_at_once(
    client, catalog, django_assert_num_queries
):
    from django.core.cache import caches

    from etsy import cache

    product = catalog["products"][3]
    _warm(client, product.get_absolute_url())
    Product.objects.filter(pk=product.pk).update(title="Not yet rebuilt")
    _expire_product_page(product)
    caches["default"].set(f"lock:{cache.product_page_key(product.pk)}", 1, 5)  # someone else is rebuilding it
    with django_assert_num_queries(0):  # no waiting on the lock and no rebuild here
        response = client.get(product.get_absolute_url())
    assert response.status_code == 200
    assert product.title in response.content.decode() and "Not yet rebuilt" not in response.content.decode()


def test_an_edit_never_waits_for_the_old_copy_to_go_stale(client, catalog, django_capture_on_commit_callbacks):
    product = catalog["products"][4]
    _warm(client, product.get_absolute_url())
    with django_capture_on_commit_callbacks(execute=True):
        product.title = "Edited by the seller"
        product.save()
    assert "Edited by the seller" in client.get(product.get_absolute_url()).content.decode()


def _category_shell_key():
    from django.core.cache import caches

    keys = [k for k in caches["default"].keys("page:category:*")]
    assert len(keys) == 1
    return keys[0]


def test_a_category_page_past_its_freshness_is_rebuilt_after_the_response_and_stored_fresh(client, catalog):
    import time

    from django.core.cache import caches

    from etsy.cache import aside

    _warm(client, "/c/mugs/")
    key = _category_shell_key()
    gens, shell, *_ = caches["default"].get(key)
    caches["default"].set(key, (gens, shell.replace("Mugs", "Old copy"), 0.0), 60)
    assert "Old copy" in client.get("/c/mugs/").content.decode()  # answered with the copy, the rebuild queued
    assert aside.refresher.run_pending() == 1  # after the response, by the process's refresher
    assert "Old copy" not in client.get("/c/mugs/").content.decode()
    assert caches["default"].get(key)[2] > time.time()  # and stored fresh again


def test_while_another_process_rebuilds_a_category_page_a_view_answers_with_the_copy(client, catalog):
    from django.core.cache import caches

    _warm(client, "/c/mugs/")
    key = _category_shell_key()
    gens, shell, *_ = caches["default"].get(key)
    caches["default"].set(key, (gens, shell.replace("Mugs", "Old copy"), 0.0), 60)
    caches["default"].set(f"lock:{key}", 1, 5)
    assert "Old copy" in client.get("/c/mugs/").content.decode()


def test_a_shell_rebuilt_after_a_signed_in_view_names_nobody(client, catalog, buyer):
    from django.core.cache import caches

    from etsy.cache import aside

    buyer.display_name = "Zebulon Quill"
    buyer.save()
    client.force_login(buyer)
    _warm(client, "/c/mugs/")
    key = _category_shell_key()
    gens, shell, *_ = caches["default"].get(key)
    caches["default"].set(key, (gens, shell, 0.0), 60)
    assert client.get("/c/mugs/").status_code == 200  # answered with the copy; the rebuild queued
    assert aside.refresher.run_pending() == 1
    _, rebuilt, fresh, *_ = caches["default"].get(key)
    assert fresh > 0
    assert "Zebulon Quill" not in rebuilt and buyer.email not in rebuilt


def test_with_background_refresh_off_the_reader_rebuilds_a_stale_page_itself(client, catalog, settings):
    from etsy.cache import aside

    settings.CACHE_REFRESH_IN_BACKGROUND = False
    product = catalog["products"][2]
    _warm(client, product.get_absolute_url())
    Product.objects.filter(pk=product.pk).update(title="Renamed for the reader")
    _expire_product_page(product)
    client.get(product.get_absolute_url())  # answered with the copy, rebuilt before the response
    assert aside.refresher.pending() == 0
    assert "Renamed for the reader" in client.get(product.get_absolute_url()).content.decode()
