"""The signed-in cart's write-through cache: every change is stored after commit, never before,
a newer cart never loses to an older one, and every path that removes lines keeps it exact."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache as default_cache
from django.db import transaction
from django.utils import timezone

from cart import caching, services
from cart.models import CartItem
from cart.selectors import count_cart_items, get_cart_summary
from catalog.models import Product
from catalog.services.listings import update_product
from etsy import cache, near_cache
from orders import payments
from orders.services.checkout import ShippingAddress, place_order
from tests.cart.factories import CartItemFactory
from tests.catalog.factories import ProductFactory, set_listing_stock
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db


def _cached_lines(user):
    return default_cache.get(cache.cart_key(user.pk))


def _ids(lines):
    return [line.product_id for line in lines]


def test_adding_an_item_stores_the_cart_after_commit(buyer, shop, django_capture_on_commit_callbacks):
    first, second = ProductFactory(shop=shop, quantity=3), ProductFactory(shop=shop, quantity=1)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.add_item(user=buyer, product_id=first.pk, quantity=2)
    assert _cached_lines(buyer) is None  # nothing before the commit
    for callback in callbacks:
        callback()
    with django_capture_on_commit_callbacks(execute=True):
        services.add_item(user=buyer, product_id=second.pk)

    lines = _cached_lines(buyer)
    assert _ids(lines) == [first.pk, second.pk]
    assert [line.quantity for line in lines] == [2, 1]
    assert lines[1].reserved_until is not None and lines[0].reserved_until is None
    assert default_cache.get(cache.cart_count_key(buyer.pk)) == 3


def test_a_rolled_back_change_stores_nothing(buyer, product, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            services.add_item(user=buyer, product_id=product.pk)
            raise RuntimeError("abort")
    assert callbacks == [] and _cached_lines(buyer) is None


def test_a_warm_cart_page_reads_no_rows(buyer, shop, django_capture_on_commit_callbacks, django_assert_num_queries):
    other_shop = ShopFactory()
    with django_capture_on_commit_callbacks(execute=True):
        for product in (ProductFactory(shop=shop, quantity=2), ProductFactory(shop=other_shop, quantity=4)):
            services.add_item(user=buyer, product_id=product.pk)
    with django_assert_num_queries(4):  # products + their images, stock and holds, shops: the lines are cached
        cold = get_cart_summary(user=buyer)
    with django_assert_num_queries(0):
        warm = get_cart_summary(user=buyer)
        assert count_cart_items(user=buyer) == 2
    assert warm.total == cold.total and len(warm.groups) == 2


def test_an_older_cart_never_replaces_a_newer_one(buyer, shop, django_capture_on_commit_callbacks):
    old_line, new_line = ProductFactory(shop=shop, quantity=5), ProductFactory(shop=shop, quantity=5)
    with django_capture_on_commit_callbacks(execute=True):
        services.add_item(user=buyer, product_id=old_line.pk)
    # Writer A takes its number and reads the cart; before it stores, writer B commits and stores.
    version_a = cache.take_version(cache.cart_sequence_key(buyer.pk), ttl=60)
    lines_a = caching._read_lines(buyer.pk)
    with django_capture_on_commit_callbacks(execute=True):
        services.add_item(user=buyer, product_id=new_line.pk)
    caching._store(buyer.pk, lines_a, version_a)

    assert _ids(_cached_lines(buyer)) == [old_line.pk, new_line.pk]
    assert default_cache.get(cache.cart_count_key(buyer.pk)) == 2


def test_a_reader_that_read_before_a_change_does_not_store_over_it(buyer, shop, django_capture_on_commit_callbacks):
    product = ProductFactory(shop=shop, quantity=5)
    stale_version = int(default_cache.get(cache.cart_sequence_key(buyer.pk)) or 0)
    with django_capture_on_commit_callbacks(execute=True):
        services.add_item(user=buyer, product_id=product.pk)
    assert not cache.store_if_newer(
        {cache.cart_key(buyer.pk): []},
        version_key=cache.cart_version_key(buyer.pk),
        sequence_key=cache.cart_sequence_key(buyer.pk),
        version=stale_version,
        ttl=60,
    )
    assert _ids(_cached_lines(buyer)) == [product.pk]


def test_a_cold_read_fills_the_cache_for_the_next_one(buyer, product, django_assert_num_queries):
    CartItemFactory(user=buyer, product=product, quantity=1)  # no commit in this test: nothing written through
    assert caching.list_cached_lines(user_id=buyer.pk)[0].product_id == product.pk
    with django_assert_num_queries(0):
        assert caching.list_cached_lines(user_id=buyer.pk)[0].quantity == 1
        assert count_cart_items(user=buyer) == 1


@pytest.mark.parametrize("how", ["remove", "set_zero", "clear", "queryset_delete", "cascade"])
def test_every_way_of_removing_a_line_updates_the_cached_cart(how, buyer, shop, django_capture_on_commit_callbacks):
    keep, gone = ProductFactory(shop=shop, quantity=4), ProductFactory(shop=shop, quantity=4)
    with django_capture_on_commit_callbacks(execute=True):
        services.add_item(user=buyer, product_id=keep.pk)
        line = services.add_item(user=buyer, product_id=gone.pk)
    get_cart_summary(user=buyer)  # warm every cache the page uses
    with django_capture_on_commit_callbacks(execute=True):
        if how == "remove":
            services.remove_item(user=buyer, line_id=line.pk)
        elif how == "set_zero":
            services.set_quantity(user=buyer, line_id=line.pk, quantity=0)
        elif how == "clear":
            services.clear_cart(user=buyer)
        elif how == "queryset_delete":  # how checkout takes bought lines out
            CartItem.objects.filter(user=buyer, product=gone).delete()
        else:  # the seller deletes the listing
            Product.objects.get(pk=gone.pk).delete()
    expected = [] if how == "clear" else [keep.pk]
    assert _ids(_cached_lines(buyer)) == expected
    summary = get_cart_summary(user=buyer)
    assert [line.product.pk for g in summary.groups for line in g.lines] == expected
    assert count_cart_items(user=buyer) == len(expected)


def test_expired_holds_swept_by_the_cleanup_leave_the_cached_cart(buyer, shop, django_capture_on_commit_callbacks):
    unique = ProductFactory(shop=shop, quantity=1)
    with django_capture_on_commit_callbacks(execute=True):
        services.add_item(user=buyer, product_id=unique.pk)
    assert _ids(_cached_lines(buyer)) == [unique.pk]
    with django_capture_on_commit_callbacks(execute=True):
        assert services.delete_expired_reservations(now=timezone.now() + timedelta(minutes=16)) == 1
    assert _cached_lines(buyer) == [] and count_cart_items(user=buyer) == 0


def test_checkout_empties_the_cached_cart(buyer, shop, django_capture_on_commit_callbacks):
    products = [ProductFactory(shop=shop, quantity=1), ProductFactory(shop=ShopFactory(), quantity=3)]
    with django_capture_on_commit_callbacks(execute=True):
        for product in products:
            services.add_item(user=buyer, product_id=product.pk)
    assert count_cart_items(user=buyer) == 2
    address = ShippingAddress(name="Bea Buyer", line1="1 Market Street", city="Hudson", postcode="12534", country="US")
    with django_capture_on_commit_callbacks(execute=True):
        place_order(buyer=buyer, address=address, payment_method=payments.PM_SUCCEEDS, idempotency_key="k-cache")
    assert get_cart_summary(user=buyer).is_empty and count_cart_items(user=buyer) == 0


def test_cached_cart_shows_price_stock_shipping_and_holds_changed_elsewhere(
    buyer, other_buyer, shop, django_capture_on_commit_callbacks
):
    shop.shipping_base, shop.shipping_additional = Decimal("4.00"), Decimal("1.00")
    shop.save()
    stocked = ProductFactory(shop=shop, quantity=5, price=Decimal("10.00"))
    unique = ProductFactory(shop=shop, quantity=1, price=Decimal("20.00"))
    with django_capture_on_commit_callbacks(execute=True):
        services.add_item(user=buyer, product_id=stocked.pk, quantity=3)
    first = get_cart_summary(user=buyer)
    assert first.groups[0].subtotal == Decimal("30.00") and first.groups[0].shipping == Decimal("6.00")

    with django_capture_on_commit_callbacks(execute=True):
        update_product(product=stocked, price=Decimal("12.50"))  # the seller's edit reaches the offering
        shop.shipping_base = Decimal("7.00")
        shop.save()
    group = get_cart_summary(user=buyer).groups[0]
    assert (group.subtotal, group.shipping) == (Decimal("37.50"), Decimal("9.00"))

    with django_capture_on_commit_callbacks(execute=True):
        set_listing_stock(stocked, quantity=2)  # sold elsewhere, as checkout does it
        from catalog.signals import products_changed

        products_changed.send(sender=Product, product_ids=[stocked.pk], reason="stock")
        CartItemFactory(user=other_buyer, product=unique, reserved_until=timezone.now() + timedelta(minutes=15))
        CartItemFactory(user=buyer, product=unique)
    lines = {line.product.pk: line for line in get_cart_summary(user=buyer).groups[0].lines}
    assert lines[stocked.pk].problem == "insufficient_stock" and lines[stocked.pk].available == 2
    assert lines[unique.pk].problem == "reserved"


def test_deactivated_listing_shows_as_unavailable_not_missing(buyer, shop, django_capture_on_commit_callbacks):
    product = ProductFactory(shop=shop, quantity=3)
    with django_capture_on_commit_callbacks(execute=True):
        services.add_item(user=buyer, product_id=product.pk)
    get_cart_summary(user=buyer)
    with django_capture_on_commit_callbacks(execute=True):
        product.is_active = False
        product.save()
    line = get_cart_summary(user=buyer).groups[0].lines[0]
    assert line.product.pk == product.pk and line.problem == "unavailable"


def test_cache_disabled_reads_the_database_and_stores_nothing(
    buyer, product, settings, django_capture_on_commit_callbacks
):
    settings.CACHE_ENABLED = False
    with django_capture_on_commit_callbacks(execute=True):
        services.add_item(user=buyer, product_id=product.pk)
    assert get_cart_summary(user=buyer).item_count == 1
    assert count_cart_items(user=buyer) == 1
    settings.CACHE_ENABLED = True
    assert _cached_lines(buyer) is None


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_changes_of_one_cart_leave_the_cache_equal_to_the_database():
    """Eight tabs of one buyer add, change and remove lines at once; after each round the
    cached cart is exactly the database's (a write-through race would leave an older cart)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from tests.accounts.factories import UserFactory
    from tests.orders.conftest import in_thread_db

    buyer = UserFactory()
    products = [ProductFactory(quantity=50) for _ in range(8)]
    for round_number in range(5):
        barrier = threading.Barrier(8)

        @in_thread_db
        def change(i, round_number=round_number):
            barrier.wait()
            line = CartItem.objects.filter(user=buyer, product=products[i]).first()
            quantity = 1 + (i + round_number) % 4
            if (i + round_number) % 3 == 0:
                if line is not None:
                    services.remove_item(user=buyer, line_id=line.pk)
            elif line is not None:
                services.set_quantity(user=buyer, line_id=line.pk, quantity=quantity)
            else:
                services.add_item(user=buyer, product_id=products[i].pk, quantity=quantity)

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(change, range(8)))
        in_database = [
            (pid, qty)
            for pid, qty in CartItem.objects.filter(user=buyer)
            .order_by("added_at", "id")
            .values_list("product_id", "quantity")
        ]
        assert [(line.product_id, line.quantity) for line in _cached_lines(buyer)] == in_database
        assert default_cache.get(cache.cart_count_key(buyer.pk)) == sum(qty for _, qty in in_database)


def test_one_transaction_changing_many_lines_schedules_one_store(buyer, shop, django_capture_on_commit_callbacks):
    products = [ProductFactory(shop=shop, quantity=3) for _ in range(4)]
    with django_capture_on_commit_callbacks(execute=True):
        for product in products:
            services.add_item(user=buyer, product_id=product.pk)
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        CartItem.objects.filter(user=buyer, product__in=products[:3]).delete()  # as checkout takes bought lines
    assert [c.user_id for c in callbacks if isinstance(c, caching._WriteCartThrough)] == [buyer.pk]
    assert _ids(_cached_lines(buyer)) == [products[3].pk]


def test_a_store_scheduled_in_a_rolled_back_savepoint_is_scheduled_again_by_a_later_change(
    buyer, shop, django_capture_on_commit_callbacks
):
    kept, dropped = ProductFactory(shop=shop, quantity=3), ProductFactory(shop=shop, quantity=3)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            services.add_item(user=buyer, product_id=dropped.pk)
            raise RuntimeError("abort the savepoint")
        services.add_item(user=buyer, product_id=kept.pk)
    assert _ids(_cached_lines(buyer)) == [kept.pk]


def test_the_version_counter_outlives_every_version_stored_from_it(buyer, product, django_capture_on_commit_callbacks):
    """A counter that expired while a stored version lived on would restart below it: every later
    change would then be refused and the buyer would see an old cart until the TTL ran out."""
    with django_capture_on_commit_callbacks(execute=True):
        services.add_item(user=buyer, product_id=product.pk)
    assert default_cache.ttl(cache.cart_sequence_key(buyer.pk)) >= 2 * cache.TTL["cart"] - 5
    assert default_cache.ttl(cache.cart_version_key(buyer.pk)) <= cache.TTL["cart"]
    # A reader storing much later (the counter untouched by writes since) extends the counter too.
    default_cache.expire(cache.cart_sequence_key(buyer.pk), 10)
    default_cache.delete(cache.cart_key(buyer.pk))
    caching.list_cached_lines(user_id=buyer.pk)
    assert default_cache.ttl(cache.cart_sequence_key(buyer.pk)) >= 2 * cache.TTL["cart"] - 5


@pytest.mark.django_db(transaction=True)
def test_a_line_written_outside_a_transaction_still_drops_the_listings_stock_count(buyer, product):
    from etsy import cache

    key = cache.inventory_key(product.pk)
    default_cache.set(key, "stale", 60)
    caching.refresh_caches_after_line_change_on_commit(user_id=buyer.pk, product_id=product.pk)  # runs at once
    assert default_cache.get(key) is None


def test_an_add_drops_the_listings_stock_count_only_when_it_takes_or_clears_a_hold(
    buyer, shop, django_capture_on_commit_callbacks
):
    stocked, unique = ProductFactory(shop=shop, quantity=5), ProductFactory(shop=shop, quantity=1)

    def count_left_after_adding(product):
        for listing in (stocked, unique):
            default_cache.set(cache.inventory_key(listing.pk), "cached", 60)
        with django_capture_on_commit_callbacks(execute=True):
            services.add_item(user=buyer, product_id=product.pk)
        return default_cache.get(cache.inventory_key(product.pk))

    assert count_left_after_adding(stocked) == "cached"  # no hold: nothing the product page says moved
    assert count_left_after_adding(stocked) == "cached"
    assert count_left_after_adding(unique) is None  # the hold shows on the page
    # Held while one of a kind, restocked since: the next add makes it a plain line and clears the hold.
    set_listing_stock(unique, quantity=3)
    assert count_left_after_adding(unique) is None
    assert CartItem.objects.get(user=buyer, product=unique).reserved_until is None
    assert count_left_after_adding(unique) == "cached"
    assert [line.quantity for line in _cached_lines(buyer)] == [2, 3]  # the cart itself is stored every time


def test_the_carts_version_counters_are_kept_by_no_process():
    # Every process is told of every write under a prefix they track (etsy.near_cache): a cart change
    # writes its counters and its contents, and only the contents are read from the processes' copies.
    assert near_cache.tracked([cache.cart_key(7), cache.cart_count_key(7)]) == (
        cache.cart_key(7),
        cache.cart_count_key(7),
    )
    assert near_cache.tracked([cache.cart_sequence_key(7), cache.cart_version_key(7)]) == ()
