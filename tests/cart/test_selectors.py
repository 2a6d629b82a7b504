from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone

from cart import services
from cart.selectors import count_cart_items, get_cart_summary
from tests.cart.factories import CartItemFactory
from tests.catalog.factories import ProductFactory
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db


def test_summary_groups_by_shop_with_exact_decimal_totals(buyer, django_assert_num_queries):
    shop_a = ShopFactory(name="A shop", shipping_base=Decimal("4.00"), shipping_additional=Decimal("1.50"))
    shop_b = ShopFactory(name="B shop", free_shipping_threshold=Decimal("30.00"))
    a1 = ProductFactory(shop=shop_a, price=Decimal("10.10"), quantity=5)
    a2 = ProductFactory(shop=shop_a, price=Decimal("0.20"), quantity=1)
    b1 = ProductFactory(shop=shop_b, price=Decimal("33.33"), quantity=2)
    services.add_item(user=buyer, product_id=a1.pk, quantity=2)
    services.add_item(user=buyer, product_id=a2.pk)
    services.add_item(user=buyer, product_id=b1.pk)

    with django_assert_num_queries(5):  # cold: lines, products + images, stock and holds, shops
        get_cart_summary(user=buyer)
    with django_assert_num_queries(0):  # warm: all from the caches
        summary = get_cart_summary(user=buyer)

    group_a, group_b = summary.groups
    assert group_a.shop == shop_a and group_a.subtotal == Decimal("20.40")
    assert group_a.shipping == Decimal("7.00")  # 4.00 + 2 × 1.50
    assert group_b.subtotal == Decimal("33.33") and group_b.shipping == Decimal("0.00")
    assert summary.subtotal == Decimal("53.73")
    assert summary.total == Decimal("60.73") == group_a.total + group_b.total
    assert summary.item_count == 4 and not summary.is_empty
    assert all(isinstance(v, Decimal) for v in (summary.total, group_a.total, group_a.lines[0].line_total))
    assert group_a.lines[1].reserved_until is not None  # the unique item is held
    assert count_cart_items(user=buyer) == 4


def test_summary_query_count_does_not_grow_with_lines(buyer, django_assert_num_queries):
    for _ in range(6):
        CartItemFactory(user=buyer, product=ProductFactory(quantity=2))
    with django_assert_num_queries(5):
        assert len(get_cart_summary(user=buyer).groups) == 6


def test_summary_flags_lines_that_cannot_be_bought(buyer, other_buyer, shop):
    sold = ProductFactory(shop=shop, quantity=0)
    short = ProductFactory(shop=shop, quantity=1)
    held = ProductFactory(shop=shop, quantity=1)
    own_expired = ProductFactory(shop=shop, quantity=1)
    CartItemFactory(user=buyer, product=sold)
    CartItemFactory(user=buyer, product=short, quantity=2)
    CartItemFactory(user=buyer, product=held, reserved_until=timezone.now() - timedelta(minutes=1))
    CartItemFactory(user=other_buyer, product=held, reserved_until=timezone.now() + timedelta(minutes=5))
    CartItemFactory(user=buyer, product=own_expired, reserved_until=timezone.now() - timedelta(minutes=1))

    lines = {line.product.pk: line for line in get_cart_summary(user=buyer).groups[0].lines}

    assert lines[sold.pk].problem == "sold_out"
    assert lines[short.pk].problem == "insufficient_stock"
    assert lines[held.pk].problem == "reserved" and lines[held.pk].reserved_by_other_until is not None
    assert lines[own_expired.pk].is_available and lines[own_expired.pk].reserved_until is None


def test_guest_summary_reads_the_session(shop):
    session = SessionStore()
    session.create()
    product = ProductFactory(shop=shop, price=Decimal("12.50"), quantity=3)
    services.add_guest_item(session=session, product_id=product.pk, quantity=2)
    summary = get_cart_summary(session=session)
    assert summary.subtotal == Decimal("25.00") and summary.item_count == 2
    assert count_cart_items(session=session) == 2
    assert get_cart_summary(session=None).is_empty
