import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.cache import caches
from django.utils import timezone

from cart import services as cart_services
from cart.exceptions import ItemReserved
from cart.models import CartItem
from catalog.models import Product
from catalog.signals import products_changed
from etsy import metrics
from etsy.breakers import payment_breaker
from etsy.outbox.models import OutboxMessage
from orders import payments
from orders.exceptions import (
    CartEmpty,
    CheckoutAlreadyPlaced,
    InvalidAddress,
    ItemUnavailable,
    PaymentDeclined,
    PaymentMethodRefused,
    PaymentsUnavailable,
)
from orders.models import Checkout, Order, OrderItem
from orders.services.checkout import ShippingAddress, place_order
from orders.tasks import resolve_pending_payments
from shops.models import Shop
from tests.cart.factories import CartItemFactory
from tests.catalog.factories import set_listing_stock

pytestmark = pytest.mark.django_db

OK, DECLINE, TIMEOUT = payments.PM_SUCCEEDS, payments.PM_DECLINED, payments.PM_TIMEOUT


def _place(buyer, address, card=OK, key="key-1"):
    return place_order(buyer=buyer, address=address, payment_method=card, idempotency_key=key)


def _stock(products):
    return [Product.objects.get(pk=p.pk).quantity for p in products]


def test_place_order_creates_one_paid_order_per_shop_with_exact_totals(
    buyer, address, three_shop_cart, django_capture_on_commit_callbacks
):
    products = three_shop_cart
    changed = []
    products_changed.connect(lambda **kw: changed.append(kw), weak=False, dispatch_uid="t-changed")
    before_value = metrics.orders_created.labels(status="paid")._value.get()
    try:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            result = _place(buyer, address)
    finally:
        products_changed.disconnect(dispatch_uid="t-changed")

    assert result.payment_status == "paid"
    orders = sorted(result.orders, key=lambda o: o.shop_id)
    assert [o.status for o in orders] == ["paid"] * 3
    # shop 1: 19.99 + 2 × 7.45 = 34.89, shipping 4.00 + 2 × 1.00; shop 2: 33.10 + 3.50; shop 3: free over 50
    assert [(o.subtotal, o.shipping, o.total) for o in orders] == [
        (Decimal("34.89"), Decimal("6.00"), Decimal("40.89")),
        (Decimal("33.10"), Decimal("3.50"), Decimal("36.60")),
        (Decimal("60.00"), Decimal("0.00"), Decimal("60.00")),
    ]
    assert result.checkout.total == sum(o.total for o in orders) == Decimal("137.49")
    assert result.checkout.payment_status == "paid" and result.checkout.provider_charge_id.startswith("ch_test_")
    items = OrderItem.objects.filter(order__checkout=result.checkout).order_by("product_id")
    assert [(i.title_at_purchase, i.price_at_purchase, i.quantity) for i in items] == [
        (p.title, p.price, q) for p, q in zip(products, [1, 2, 1, 1], strict=True)
    ]
    assert _stock(products) == [0, 3, 0, 2]
    assert sorted(Shop.objects.filter(orders__checkout=result.checkout).values_list("sales_count", flat=True)) == [
        1,
        1,
        3,
    ]
    assert not CartItem.objects.filter(user=buyer).exists()
    assert OutboxMessage.objects.filter(topic="order.placed").count() == 3
    assert not OutboxMessage.objects.filter(processed_at__isnull=True).exists()
    sellers = [m for m in mail.outbox if m.to != [buyer.email]]
    assert sorted(m.to[0] for m in sellers) == sorted(o.shop.owner.email for o in orders)
    assert "New order" in sellers[0].subject
    assert [m.subject for m in mail.outbox if m.to == [buyer.email]] == [
        "Your Makers' Market order: 3 shops, $137.49"
    ]  # one confirmation per checkout
    assert changed and changed[0]["reason"] == "stock" and set(changed[0]["product_ids"]) == {p.pk for p in products}
    assert len(callbacks) >= 2
    charge = payments.get_provider().retrieve(idempotency_key=result.checkout.provider_idempotency_key)
    assert charge.status == "succeeded" and charge.amount == Decimal("137.49")
    assert metrics.orders_created.labels(status="paid")._value.get() == before_value + 3


def test_rolled_back_checkout_schedules_nothing(buyer, address, three_shop_cart, django_capture_on_commit_callbacks):
    set_listing_stock(Product.objects.get(pk=three_shop_cart[3].pk), quantity=0)
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(ItemUnavailable) as exc:
        _place(buyer, address)
    sold = three_shop_cart[3]
    assert exc.value.extra["products"] == [
        {"id": sold.pk, "title": sold.title, "offering_id": sold.offerings.get().pk, "options": ""}
    ]
    # Only the sold line leaving the cart schedules anything (its cache refresh): no order, stock or outbox work.
    assert exc.value.extra["removed"] is True
    assert not any("products_changed" in repr(cb) or "relay" in repr(cb) for cb in callbacks)
    assert not Checkout.objects.exists() and not Order.objects.exists() and not OutboxMessage.objects.exists()
    assert sorted(CartItem.objects.filter(user=buyer).values_list("product_id", flat=True)) == sorted(
        p.pk for p in three_shop_cart[:3]
    )
    assert _stock(three_shop_cart) == [1, 5, 1, 0]


def test_place_order_refuses_empty_cart_bad_card_and_bad_address(buyer, address, product):
    with pytest.raises(CartEmpty):
        _place(buyer, address)
    cart_services.add_item(user=buyer, product_id=product.pk)
    for refused in ("4242-abc", "4242424242424242", "pm_not_a_test_method"):
        with pytest.raises(PaymentMethodRefused):
            _place(buyer, address, card=refused)
    with pytest.raises(InvalidAddress) as exc:
        _place(buyer, ShippingAddress(name=" ", line1="x", city="y", postcode="1", country="USA"))
    assert set(exc.value.extra["fields"]) == {"name", "country"}
    assert not Checkout.objects.exists()


def test_place_order_rejects_item_reserved_by_another_buyer_after_own_hold_expired(
    buyer, other_buyer, address, product
):
    CartItemFactory(user=buyer, product=product, reserved_until=timezone.now() - timedelta(minutes=1))
    hold = cart_services.add_item(user=other_buyer, product_id=product.pk)
    with pytest.raises(ItemReserved) as exc:
        _place(buyer, address)
    assert exc.value.extra["reserved_until"] == hold.reserved_until.isoformat()
    assert not Order.objects.exists()


def test_place_order_succeeds_on_expired_own_hold_nobody_else_took(buyer, address, product):
    CartItemFactory(user=buyer, product=product, reserved_until=timezone.now() - timedelta(minutes=1))
    assert _place(buyer, address).payment_status == "paid"
    assert _stock([product]) == [0]


def test_decline_cancels_restocks_and_restores_cart_in_one_go(
    buyer, address, three_shop_cart, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(PaymentDeclined) as exc:
        _place(buyer, address, card=DECLINE)

    checkout = Checkout.objects.get()
    assert exc.value.status_code == 402
    assert exc.value.extra == {"checkout_id": str(checkout.pk), "decline_code": "card_declined"}
    assert checkout.payment_status == "declined"
    assert set(Order.objects.values_list("status", flat=True)) == {"cancelled"}
    assert _stock(three_shop_cart) == [1, 5, 1, 3]
    assert set(Shop.objects.filter(orders__isnull=False).values_list("sales_count", flat=True)) == {0}
    restored = {i.product_id: i for i in CartItem.objects.filter(user=buyer)}
    assert {pid: i.quantity for pid, i in restored.items()} == {
        three_shop_cart[0].pk: 1,
        three_shop_cart[1].pk: 2,
        three_shop_cart[2].pk: 1,
        three_shop_cart[3].pk: 1,
    }
    assert restored[three_shop_cart[0].pk].reserved_until > timezone.now()
    assert mail.outbox == []  # no seller hears of a declined order
    assert not OutboxMessage.objects.filter(processed_at__isnull=True).exists()
    # the buyer can retry at once with another card
    assert _place(buyer, address, key="key-2").payment_status == "paid"


def test_open_payment_breaker_refuses_before_creating_anything(buyer, address, three_shop_cart):
    payment_breaker.open()
    with pytest.raises(PaymentsUnavailable) as exc:
        _place(buyer, address)
    assert exc.value.status_code == 503
    assert not Checkout.objects.exists()
    assert CartItem.objects.filter(user=buyer).count() == 4 and _stock(three_shop_cart) == [1, 5, 1, 3]


def test_breaker_opens_after_timeouts_then_refuses(buyer, address, settings, shop):
    settings.PAYMENT_TIMEOUT_SECONDS = 0.05
    settings.TEST_PAYMENT_SLOW_SECONDS = 0.2
    from tests.catalog.factories import ProductFactory

    product = ProductFactory(shop=shop, quantity=100)
    for attempt in range(5):
        cart_services.add_item(user=buyer, product_id=product.pk)
        result = _place(buyer, address, card=OK if attempt < 3 else TIMEOUT, key=f"k{attempt}")
        assert result.payment_status == ("paid" if attempt < 3 else "unknown")
    assert payment_breaker.current_state == "open"  # 2 of 5 calls failed: 40 % >= 25 %
    cart_services.add_item(user=buyer, product_id=product.pk)
    with pytest.raises(PaymentsUnavailable):
        _place(buyer, address, key="k-after")


def test_checkout_works_and_the_breaker_counts_in_this_process_while_its_redis_is_unreachable(
    buyer, address, settings, shop, monkeypatch
):
    from tests.catalog.factories import ProductFactory
    from tests.local_services import free_port

    settings.PAYMENT_TIMEOUT_SECONDS = 0.05
    settings.TEST_PAYMENT_SLOW_SECONDS = 0.2
    settings.CACHES = {
        **settings.CACHES,
        "breakers-down": {**settings.CACHES["strict"], "LOCATION": f"redis://127.0.0.1:{free_port()}/0"},
    }
    monkeypatch.setattr(payment_breaker.shared_window, "alias", "breakers-down")
    product = ProductFactory(shop=shop, quantity=100)
    for attempt in range(5):
        cart_services.add_item(user=buyer, product_id=product.pk)
        result = _place(buyer, address, card=OK if attempt < 3 else TIMEOUT, key=f"k{attempt}")
        assert result.payment_status == ("paid" if attempt < 3 else "unknown")
    assert not payment_breaker.is_shared()  # counting in this process, Redis tried again later
    assert payment_breaker.current_state == "open"  # 2 of this process's 5 calls failed
    cart_services.add_item(user=buyer, product_id=product.pk)
    with pytest.raises(PaymentsUnavailable):
        _place(buyer, address, key="k-after")


def test_timeout_leaves_orders_pending_until_the_provider_is_asked_again(
    buyer, address, three_shop_cart, settings, django_capture_on_commit_callbacks
):
    settings.PAYMENT_TIMEOUT_SECONDS = 0.2
    settings.TEST_PAYMENT_SLOW_SECONDS = 1.0
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        result = _place(buyer, address, card=TIMEOUT)
    returned = time.monotonic()  # the charge was sent before this: the provider answers within 1 s of it
    # The client gave up at its timeout, long before the provider answered (a loaded machine adds to both).
    assert 0.2 <= returned - started < 1.0

    assert result.payment_status == "unknown"
    assert set(Order.objects.values_list("status", flat=True)) == {"pending_payment"}
    assert _stock(three_shop_cart) == [0, 3, 0, 2]  # held for the pending orders
    assert mail.outbox == []

    Checkout.objects.update(created_at=timezone.now() - timedelta(minutes=2))
    time.sleep(max(0.0, returned + 1.0 - time.monotonic()))  # the provider finishes processing
    with django_capture_on_commit_callbacks(execute=True):
        outcome = resolve_pending_payments.apply_async().get()

    assert outcome == {"paid": 1}
    checkout = Checkout.objects.get()
    assert checkout.payment_status == "paid" and checkout.payment_attempts == 1
    assert set(Order.objects.values_list("status", flat=True)) == {"paid"}
    assert len(mail.outbox) == 4  # three sellers and the buyer's one confirmation
    assert resolve_pending_payments.apply_async().get() == {}  # settled once


def test_timeout_then_provider_decline_is_cancelled_and_restocked_by_the_resolver(
    buyer, address, three_shop_cart, settings
):
    settings.PAYMENT_TIMEOUT_SECONDS = 0.1
    settings.TEST_PAYMENT_SLOW_SECONDS = 0.2
    result = _place(buyer, address, card=payments.PM_TIMEOUT_THEN_DECLINED)
    assert result.payment_status == "unknown"
    Checkout.objects.update(created_at=timezone.now() - timedelta(minutes=2))
    time.sleep(0.25)
    assert resolve_pending_payments.apply_async().get() == {"declined": 1}
    assert set(Order.objects.values_list("status", flat=True)) == {"cancelled"}
    assert _stock(three_shop_cart) == [1, 5, 1, 3]


def test_resolver_waits_while_provider_processes_and_cancels_charges_it_never_received(
    buyer, address, three_shop_cart, settings
):
    settings.PAYMENT_TIMEOUT_SECONDS = 0.1
    settings.TEST_PAYMENT_SLOW_SECONDS = 30
    result = _place(buyer, address, card=TIMEOUT)
    Checkout.objects.update(created_at=timezone.now() - timedelta(minutes=2))
    assert resolve_pending_payments.apply_async().get() == {"unknown": 1}  # provider still processing

    caches["strict"].delete(f"payments:test-provider:{result.checkout.provider_idempotency_key}")
    assert resolve_pending_payments.apply_async().get() == {"unknown": 1}  # too young to give up
    Checkout.objects.update(created_at=timezone.now() - timedelta(minutes=16))
    assert resolve_pending_payments.apply_async().get() == {"cancelled": 1}
    assert _stock(three_shop_cart) == [1, 5, 1, 3]
    assert Checkout.objects.get().payment_status == "cancelled"


def test_same_request_key_never_creates_a_second_checkout(buyer, address, shop):
    from tests.catalog.factories import ProductFactory

    product = ProductFactory(shop=shop, quantity=5)
    cart_services.add_item(user=buyer, product_id=product.pk)
    first = _place(buyer, address, key="same")
    cart_services.add_item(user=buyer, product_id=product.pk)
    with pytest.raises(CheckoutAlreadyPlaced) as exc:
        _place(buyer, address, key="same")
    assert exc.value.extra == {"checkout_id": str(first.checkout.pk)}
    assert Checkout.objects.count() == 1 and _stock([product]) == [4]


def test_place_order_refuses_a_cart_that_is_not_the_version_the_buyer_saw(buyer, address, three_shop_cart):
    from cart.exceptions import CartChanged
    from cart.selectors import get_cart_summary

    seen = get_cart_summary(user=buyer).version
    cart_services.add_item(user=buyer, product_id=three_shop_cart[1].pk)  # another tab: one more
    with pytest.raises(CartChanged):
        place_order(buyer=buyer, address=address, payment_method=OK, idempotency_key="v1", expected_version=seen)
    assert not Checkout.objects.exists() and _stock(three_shop_cart) == [1, 5, 1, 3]
    caches["strict"].delete_pattern("*")  # the write-through runs after commit, which this test never reaches
    fresh = get_cart_summary(user=buyer)
    result = place_order(
        buyer=buyer, address=address, payment_method=OK, idempotency_key="v2", expected_version=fresh.version
    )
    assert result.checkout.total == fresh.total


def test_sales_count_moves_with_payment_not_with_pending_orders(buyer, address, shop):
    from orders.services.fulfilment import cancel_order
    from tests.catalog.factories import ProductFactory
    from tests.orders.factories import OrderFactory

    product = ProductFactory(shop=shop, quantity=5)
    cart_services.add_item(user=buyer, product_id=product.pk, quantity=2)
    result = _place(buyer, address)
    assert Shop.objects.get(pk=shop.pk).sales_count == 2
    cancel_order(order=result.orders[0])
    assert Shop.objects.get(pk=shop.pk).sales_count == 0
    Shop.objects.filter(pk=shop.pk).update(sales_count=5)
    pending = OrderFactory(shop=shop, status=Order.Status.PENDING_PAYMENT)
    OrderItem.objects.create(
        order=pending, product=product, title_at_purchase="x", price_at_purchase=Decimal("1.00"), quantity=3
    )
    cancel_order(order=pending)  # never counted, so nothing to give back
    assert Shop.objects.get(pk=shop.pk).sales_count == 5
