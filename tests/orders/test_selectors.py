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


def test_orders_for_email_come_with_shop_owner_buyer_checkout_and_items_in_one_query(buyer, django_assert_num_queries):
    from orders.selectors import list_orders_for_email

    orders = [OrderFactory(buyer=buyer) for _ in range(2)]
    items = [OrderItemFactory(order=orders[0]), OrderItemFactory(order=orders[0]), OrderItemFactory(order=orders[1])]
    itemless = OrderFactory(buyer=buyer)
    with django_assert_num_queries(1):
        found = list_orders_for_email(order_ids=[orders[1].pk, orders[0].pk, itemless.pk, 999999])
        shown = {
            pk: (o.shop.owner.email, o.buyer.email, o.checkout.pk, [i.pk for i in o.items.all()])
            for pk, o in found.items()
        }
        assert all(item.order is found[item.order_id] for o in found.values() for item in o.items.all())
    assert shown == {
        o.pk: (o.shop.owner.email, buyer.email, o.checkout_id, [i.pk for i in items if i.order_id == o.pk])
        for o in [*orders, itemless]
    }
    with django_assert_num_queries(0):
        assert list_orders_for_email(order_ids=[]) == {}


def test_confirmed_orders_of_a_checkout_leave_out_cancelled_and_unpaid_ones_by_shop_name(
    buyer, django_assert_num_queries
):
    from orders.selectors import get_checkout_confirmation
    from tests.shops.factories import ShopFactory

    paid = OrderFactory(buyer=buyer, status="paid", shop=ShopFactory(name="Zinnia Ceramics"))
    checkout = paid.checkout
    shipped = OrderFactory(buyer=buyer, checkout=checkout, status="shipped", shop=ShopFactory(name="Acorn Prints"))
    OrderFactory(buyer=buyer, checkout=checkout, status="cancelled", shop=ShopFactory(name="Birch Goods"))
    OrderFactory(buyer=buyer, checkout=checkout, status="pending_payment", shop=ShopFactory(name="Cedar Co"))
    items = [OrderItemFactory(order=paid), OrderItemFactory(order=paid)]
    with django_assert_num_queries(1):
        found, orders = get_checkout_confirmation(checkout_id=str(checkout.pk))
        shown = [(o.shop.name, o.checkout.buyer.email, [i.pk for i in o.items.all()]) for o in orders]
    assert found.buyer == buyer and [o.pk for o in orders] == [shipped.pk, paid.pk]
    assert shown == [("Acorn Prints", buyer.email, []), ("Zinnia Ceramics", buyer.email, [i.pk for i in items])]
    assert get_checkout_confirmation(checkout_id="00000000-0000-0000-0000-000000000000") is None


def test_the_confirmation_of_a_checkout_without_confirmed_orders_has_none(buyer, django_assert_num_queries):
    from orders.selectors import get_checkout_confirmation

    cancelled = OrderFactory(buyer=buyer, status="cancelled")
    OrderItemFactory(order=cancelled)
    with django_assert_num_queries(1):
        found, orders = get_checkout_confirmation(checkout_id=cancelled.checkout_id)
    assert found.pk == cancelled.checkout_id and found.buyer == buyer and orders == []


def test_orders_of_a_checkout_come_by_shop_with_shop_checkout_request_and_items_in_one_query(
    buyer, django_assert_num_queries
):
    from orders.models import CancellationRequest
    from orders.selectors import list_orders_of_checkout
    from tests.shops.factories import ShopFactory

    shops = sorted([ShopFactory(), ShopFactory(), ShopFactory()], key=lambda shop: shop.pk)
    second = OrderFactory(buyer=buyer, shop=shops[1])
    checkout = second.checkout
    first = OrderFactory(buyer=buyer, checkout=checkout, shop=shops[0])
    itemless = OrderFactory(buyer=buyer, checkout=checkout, shop=shops[2])
    OrderFactory(buyer=buyer)  # another checkout's
    items = [OrderItemFactory(order=second), OrderItemFactory(order=first), OrderItemFactory(order=second)]
    request = CancellationRequest.objects.create(order=second, reason="Changed my mind")
    with django_assert_num_queries(1):
        orders = list_orders_of_checkout(checkout_id=str(checkout.pk))
        shown = [
            (o.pk, o.shop.pk, o.checkout.pk, getattr(o, "cancellation_request", None), [i.pk for i in o.items.all()])
            for o in orders
        ]
        assert all(item.order is order for order in orders for item in order.items.all())
        assert orders[1].cancellation_request.order is orders[1]
        assert orders[0].checkout is orders[1].checkout is orders[2].checkout  # read once for all of them
    assert shown == [
        (first.pk, shops[0].pk, checkout.pk, None, [items[1].pk]),
        (second.pk, shops[1].pk, checkout.pk, request, [items[0].pk, items[2].pk]),
        (itemless.pk, shops[2].pk, checkout.pk, None, []),
    ]


def test_latest_reviews_of_shops_are_each_shops_newest_few_with_their_reviewers_in_one_query(
    django_assert_num_queries,
):
    """The check of a due product page reads them (its shop's three latest reviews): newest first, the id ordering
    reviews of the same instant, as the shop's cached list orders them; a shop without reviews has none."""
    from datetime import timedelta

    from django.utils import timezone

    from orders import selectors
    from tests.orders.factories import ReviewFactory
    from tests.shops.factories import ShopFactory

    busy, quiet, unreviewed = ShopFactory(), ShopFactory(), ShopFactory()
    now = timezone.now()
    older = [ReviewFactory(shop=busy, order__shop=busy, created_at=now - timedelta(days=d)) for d in (5, 4)]
    same_instant = [ReviewFactory(shop=busy, order__shop=busy, created_at=now) for _ in range(3)]
    lone = ReviewFactory(shop=quiet, order__shop=quiet, comment="Lovely", created_at=now - timedelta(days=1))
    for review in (*older, *same_instant, lone):  # created_at is auto_now_add: set it as written above
        type(review).objects.filter(pk=review.pk).update(created_at=review.created_at)

    with django_assert_num_queries(1):
        found = selectors.list_latest_reviews_of_shops(shop_ids=[quiet.pk, busy.pk, unreviewed.pk], limit=3)
        names = {pk: [r.reviewer.public_name for r in reviews] for pk, reviews in found.items()}  # no query each

    assert [r.pk for r in found[busy.pk]] == sorted((r.pk for r in same_instant), reverse=True)
    assert [(r.pk, r.comment) for r in found[quiet.pk]] == [(lone.pk, "Lovely")]
    assert found[unreviewed.pk] == []
    assert names[quiet.pk] == [lone.reviewer.public_name]
    assert [r.pk for r in found[busy.pk]] == [r.pk for r in selectors.list_shop_reviews(shop_id=busy.pk, limit=3)]
    assert selectors.list_latest_reviews_of_shops(shop_ids=[], limit=3) == {}
