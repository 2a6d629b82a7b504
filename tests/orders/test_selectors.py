import pytest

from orders.exceptions import OrderNotFound
from orders.selectors import get_order_for_buyer, get_order_for_seller, list_orders_for_buyer, list_orders_for_shop
from tests.orders.factories import OrderFactory, OrderItemFactory

pytestmark = pytest.mark.django_db


def test_buyer_sees_only_own_orders_without_n_plus_one(buyer, other_buyer, django_assert_num_queries):
    mine = [OrderFactory(buyer=buyer) for _ in range(3)]
    for order in mine:
        OrderItemFactory(order=order)
        OrderItemFactory(order=order)
    theirs = OrderFactory(buyer=other_buyer)
    with django_assert_num_queries(2):
        orders = list(list_orders_for_buyer(buyer=buyer))
        titles = [item.title_at_purchase for order in orders for item in order.items.all()]
        [order.shop.name for order in orders]
    assert {o.pk for o in orders} == {o.pk for o in mine} and len(titles) == 6
    assert get_order_for_buyer(buyer=buyer, order_id=str(mine[0].pk)) == mine[0]
    for bad in (theirs.pk, 999999, "x"):
        with pytest.raises(OrderNotFound):
            get_order_for_buyer(buyer=buyer, order_id=bad)


def test_seller_sees_only_own_shop_orders_filtered(shop, seller, buyer):
    paid = OrderFactory(shop=shop, buyer=buyer, status="paid")
    shipped = OrderFactory(shop=shop, buyer=buyer, status="shipped")
    elsewhere = OrderFactory(buyer=buyer)
    assert set(list_orders_for_shop(shop=shop)) == {paid, shipped}
    assert list(list_orders_for_shop(shop=shop, status="shipped")) == [shipped]
    today = paid.created_at.date()
    assert set(list_orders_for_shop(shop=shop, date_from=today, date_to=today)) == {paid, shipped}
    assert get_order_for_seller(seller=seller, order_id=paid.pk) == paid
    with pytest.raises(OrderNotFound):
        get_order_for_seller(seller=seller, order_id=elsewhere.pk)
