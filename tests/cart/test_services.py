from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone

from cart import services
from cart.exceptions import AlreadyInCart, InsufficientStock, InvalidQuantity, ItemReserved
from cart.models import CartItem, EndedHold
from catalog.exceptions import ProductNotFound
from etsy import metrics
from tests.cart.factories import CartItemFactory
from tests.catalog.factories import ProductFactory

pytestmark = pytest.mark.django_db


def _counter(counter) -> float:
    return counter._value.get()


def test_add_unique_item_reserves_it_for_fifteen_minutes(buyer, product):
    before = _counter(metrics.reservations_created)
    item = services.add_item(user=buyer, product_id=product.pk)
    assert item.quantity == 1
    remaining = item.reserved_until - timezone.now()
    assert timedelta(minutes=14, seconds=50) < remaining <= timedelta(minutes=15)
    assert _counter(metrics.reservations_created) == before + 1


def test_add_item_rejects_missing_or_inactive_product(buyer, product):
    with pytest.raises(ProductNotFound):
        services.add_item(user=buyer, product_id=999_999)
    with pytest.raises(ProductNotFound):
        services.add_item(user=buyer, product_id="abc")
    product.is_active = False
    product.save()
    with pytest.raises(ProductNotFound):
        services.add_item(user=buyer, product_id=product.pk)


def test_add_item_rejects_more_than_stock(buyer, shop):
    product = ProductFactory(shop=shop, quantity=3)
    with pytest.raises(InsufficientStock) as exc:
        services.add_item(user=buyer, product_id=product.pk, quantity=4)
    offering_id = product.offerings.get().pk
    assert exc.value.extra == {"product_id": product.pk, "offering_id": offering_id, "available": 3, "requested": 4}
    assert not CartItem.objects.exists()


def test_add_item_merges_quantities_without_holding_multi_stock_items(buyer, shop):
    product = ProductFactory(shop=shop, quantity=5)
    services.add_item(user=buyer, product_id=product.pk, quantity=2)
    item = services.add_item(user=buyer, product_id=product.pk, quantity=3)
    assert item.quantity == 5 and item.reserved_until is None
    assert CartItem.objects.count() == 1
    with pytest.raises(InsufficientStock):
        services.add_item(user=buyer, product_id=product.pk)


@pytest.mark.parametrize("bad", [0, -1, "2", 1.5, True, None])
def test_add_item_rejects_bad_quantity(buyer, product, bad):
    with pytest.raises(InvalidQuantity):
        services.add_item(user=buyer, product_id=product.pk, quantity=bad)


def test_unique_item_held_by_another_buyer_is_refused_with_hold_end(buyer, other_buyer, product):
    hold = services.add_item(user=other_buyer, product_id=product.pk)
    conflicts = _counter(metrics.inventory_conflicts)
    with pytest.raises(ItemReserved) as exc:
        services.add_item(user=buyer, product_id=product.pk)
    assert exc.value.extra["reserved_until"] == hold.reserved_until.isoformat()
    assert _counter(metrics.inventory_conflicts) == conflicts + 1


def test_expired_hold_is_no_hold_even_before_cleanup(buyer, other_buyer, product):
    CartItemFactory(user=other_buyer, product=product, reserved_until=timezone.now() - timedelta(seconds=1))
    item = services.add_item(user=buyer, product_id=product.pk)
    assert item.reserved_until > timezone.now()


def test_set_quantity_updates_and_zero_removes(buyer, shop):
    product = ProductFactory(shop=shop, quantity=4)
    line = services.add_item(user=buyer, product_id=product.pk)
    assert services.set_quantity(user=buyer, line_id=line.pk, quantity=4).quantity == 4
    with pytest.raises(InsufficientStock):
        services.set_quantity(user=buyer, line_id=line.pk, quantity=5)
    assert services.set_quantity(user=buyer, line_id=line.pk, quantity=0) is None
    assert not CartItem.objects.exists()


def test_set_quantity_renews_own_expired_hold(buyer, product):
    line = CartItemFactory(user=buyer, product=product, reserved_until=timezone.now() - timedelta(minutes=1))
    item = services.set_quantity(user=buyer, line_id=line.pk, quantity=1)
    assert item.reserved_until > timezone.now() + timedelta(minutes=14)


def test_remove_items_only_touches_own_cart(buyer, other_buyer, shop):
    a, b = ProductFactory(shop=shop, quantity=3), ProductFactory(shop=shop, quantity=3)
    services.add_item(user=buyer, product_id=a.pk)
    services.add_item(user=buyer, product_id=b.pk)
    theirs = services.add_item(user=other_buyer, product_id=a.pk)
    assert services.remove_items(user=buyer, product_ids=[a.pk, b.pk, "junk"]) == 2
    services.remove_item(user=buyer, line_id=theirs.pk)  # not the buyer's: nothing happens, no error
    assert list(CartItem.objects.values_list("user_id", flat=True)) == [other_buyer.pk]


def _session():
    session = SessionStore()
    session.create()
    return session


def test_guest_cart_adds_merges_and_respects_holds(other_buyer, shop, product):
    session = _session()
    multi = ProductFactory(shop=shop, quantity=3, price=Decimal("5.00"))
    line = services.add_guest_item(session=session, product_id=multi.pk)
    assert line.quantity == 1
    assert services.add_guest_item(session=session, product_id=multi.pk, quantity=2) == line._replace(quantity=3)
    with pytest.raises(InsufficientStock):
        services.add_guest_item(session=session, product_id=multi.pk)
    services.add_item(user=other_buyer, product_id=product.pk)
    with pytest.raises(ItemReserved):
        services.add_guest_item(session=session, product_id=product.pk)
    assert services.set_guest_quantity(session=session, line_id=line.id, quantity=1) == 1
    services.remove_guest_item(session=session, line_id=line.id)
    assert services.get_guest_lines(session=session) == []


def test_merge_guest_cart_moves_lines_takes_holds_and_reports_skips(buyer, other_buyer, shop):
    session = _session()
    unique = ProductFactory(shop=shop, quantity=1)
    taken = ProductFactory(shop=shop, quantity=1)
    multi = ProductFactory(shop=shop, quantity=3)
    services.add_guest_item(session=session, product_id=unique.pk)
    services.add_guest_item(session=session, product_id=taken.pk)
    services.add_guest_item(session=session, product_id=multi.pk, quantity=2)
    services.add_item(user=buyer, product_id=multi.pk, quantity=2)  # already in the account cart
    services.add_item(user=other_buyer, product_id=taken.pk)  # grabbed after the guest added it

    skipped = services.merge_guest_cart(user=buyer, session=session)

    lines = {i.product_id: i for i in CartItem.objects.filter(user=buyer)}
    assert lines[unique.pk].reserved_until > timezone.now()
    assert lines[multi.pk].quantity == 3  # 2 + 2 capped at stock
    assert taken.pk not in lines
    assert skipped == [{"product_id": taken.pk, "code": "item_reserved", "message": ItemReserved.default_message}]
    assert services.get_guest_lines(session=session) == []


def test_adding_a_unique_item_already_in_the_cart_says_so_for_buyers_and_guests(buyer, product):
    services.add_item(user=buyer, product_id=product.pk)
    with pytest.raises(AlreadyInCart) as exc:
        services.add_item(user=buyer, product_id=product.pk)
    assert exc.value.extra == {"product_id": product.pk, "offering_id": product.offerings.get().pk}
    assert CartItem.objects.get(user=buyer, product=product).quantity == 1
    session = _session()
    other = ProductFactory(shop=product.shop, quantity=1)
    line = services.add_guest_item(session=session, product_id=other.pk)
    with pytest.raises(AlreadyInCart):
        services.add_guest_item(session=session, product_id=other.pk)
    assert services.get_guest_lines(session=session) == [line]
    assert (line.product_id, line.offering_id, line.quantity) == (other.pk, other.offerings.get().pk, 1)


def test_expired_hold_sweep_remembers_what_left_each_cart_and_spares_renewed_holds(buyer, other_buyer, shop):
    now = timezone.now()
    gone = ProductFactory(shop=shop, quantity=1)
    renewed = ProductFactory(shop=shop, quantity=1)
    CartItemFactory(user=buyer, product=gone, reserved_until=now - timedelta(minutes=1))
    CartItemFactory(user=other_buyer, product=renewed, reserved_until=now + timedelta(minutes=10))
    EndedHold.objects.create(user=other_buyer, product=gone, ended_at=now - timedelta(days=8))  # stale notice
    assert services.delete_expired_reservations(now=now) == 1
    assert list(EndedHold.objects.values_list("user_id", "product_id")) == [(buyer.pk, gone.pk)]
    assert CartItem.objects.filter(product=renewed).exists()
    assert services.forget_ended_holds(user=buyer, product_ids=[gone.pk]) == 1
