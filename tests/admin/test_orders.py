"""The seller's orders in the admin: filters, detail, mark shipped (buyer emailed), cancel with restock."""

import threading
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.urls import reverse

from catalog.models import Product
from orders.models import Order
from tests.admin.conftest import PASSWORD, Seller
from tests.catalog.factories import set_listing_stock
from tests.orders.factories import OrderFactory, OrderItemFactory

pytestmark = pytest.mark.django_db


def test_order_detail_shows_address_and_items_at_purchase_price(seller_a):
    Product.objects.filter(pk=seller_a.product.pk).update(price=Decimal("99.00"), title="Renamed later")
    body = seller_a.client.get(reverse("admin:orders_order_change", args=[seller_a.order.pk])).content.decode()
    checkout = seller_a.order.checkout
    for text in (checkout.ship_name, checkout.ship_line1, checkout.ship_city, checkout.ship_postcode):
        assert text in body
    assert seller_a.item.title_at_purchase in body and "24.00" in body
    assert "99.00" not in body
    assert "Mark shipped" in body and "Cancel and restock" in body


def test_orders_list_filters_by_status_and_date(seller_a):
    shipped = OrderFactory(shop=seller_a.shop, status=Order.Status.SHIPPED)
    url = reverse("admin:orders_order_changelist")
    shown = {o.pk for o in seller_a.client.get(url, {"status__exact": "shipped"}).context["cl"].result_list}
    assert shown == {shipped.pk}
    Order.objects.filter(pk=shipped.pk).update(created_at="2020-01-15T10:00:00Z")
    response = seller_a.client.get(url, {"created_at__year": "2020", "created_at__month": "1"})
    assert {o.pk for o in response.context["cl"].result_list} == {shipped.pk}


def test_mark_shipped_emails_the_buyer_and_shows_tracking_to_them(seller_a, django_capture_on_commit_callbacks):
    order = seller_a.order
    with django_capture_on_commit_callbacks(execute=True):
        response = seller_a.client.post(
            reverse("admin:orders_order_ship", args=[order.pk]), {"tracking_number": "1Z999AA10123456784"}
        )
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == Order.Status.SHIPPED and order.tracking_number == "1Z999AA10123456784"
    sent = [m for m in mail.outbox if order.buyer.email in m.to]
    assert len(sent) == 1 and "1Z999AA10123456784" in sent[0].body
    buyer = Client()
    buyer.force_login(order.buyer)
    page = buyer.get(reverse("orders:detail", args=[order.pk]))
    assert page.status_code == 200 and "1Z999AA10123456784" in page.content.decode()


def test_invalid_tracking_number_is_a_form_error(seller_a):
    response = seller_a.client.post(
        reverse("admin:orders_order_ship", args=[seller_a.order.pk]), {"tracking_number": "<>"}
    )
    assert response.status_code == 400
    seller_a.order.refresh_from_db()
    assert seller_a.order.status == Order.Status.PAID


def test_shipping_a_cancelled_order_is_refused_with_a_message(seller_a):
    Order.objects.filter(pk=seller_a.order.pk).update(status=Order.Status.CANCELLED)
    response = seller_a.client.post(
        reverse("admin:orders_order_ship", args=[seller_a.order.pk]), {"tracking_number": "TRACK1234"}, follow=True
    )
    assert response.status_code == 200
    assert "cannot be shipped" in response.content.decode()
    assert Order.objects.get(pk=seller_a.order.pk).status == Order.Status.CANCELLED


def test_cancel_restocks_exactly_once_even_if_clicked_twice(seller_a, django_capture_on_commit_callbacks):
    set_listing_stock(Product.objects.get(pk=seller_a.product.pk), quantity=0)
    url = reverse("admin:orders_order_cancel", args=[seller_a.order.pk])
    with django_capture_on_commit_callbacks(execute=False):
        assert seller_a.client.post(url).status_code == 302
        assert seller_a.client.post(url).status_code == 302
    assert Order.objects.get(pk=seller_a.order.pk).status == Order.Status.CANCELLED
    assert Product.objects.get(pk=seller_a.product.pk).quantity == 1


def test_bulk_cancel_action_restocks_own_orders(seller_a, django_capture_on_commit_callbacks):
    second = OrderFactory(shop=seller_a.shop)
    OrderItemFactory(order=second, product=seller_a.product, quantity=2)
    set_listing_stock(Product.objects.get(pk=seller_a.product.pk), quantity=0)
    payload = {"action": "cancel_and_restock", "_selected_action": [seller_a.order.pk, second.pk]}
    with django_capture_on_commit_callbacks(execute=False):
        seller_a.client.post(reverse("admin:orders_order_changelist"), payload)
        seller_a.client.post(reverse("admin:orders_order_changelist"), payload)
    assert Product.objects.get(pk=seller_a.product.pk).quantity == 3


@pytest.mark.django_db(transaction=True)
def test_concurrent_cancel_clicks_restock_once(category):
    seller = Seller("racer@example.com", "Race Shop", category)
    set_listing_stock(Product.objects.get(pk=seller.product.pk), quantity=0)
    url = reverse("admin:orders_order_cancel", args=[seller.order.pk])
    barrier = threading.Barrier(4)
    statuses = []

    def click():
        client = Client()
        client.login(email="racer@example.com", password=PASSWORD)
        barrier.wait()
        try:
            statuses.append(client.post(url).status_code)
        finally:
            connection.close()

    for _round in range(2):
        threads = [threading.Thread(target=click) for _ in range(4)]
        [t.start() for t in threads]
        [t.join() for t in threads]
    assert statuses == [302] * 8
    assert Product.objects.get(pk=seller.product.pk).quantity == 1


def test_bulk_mark_shipped_asks_tracking_numbers_then_ships_own_paid_orders(
    seller_a, seller_b, django_capture_on_commit_callbacks
):
    second = OrderFactory(shop=seller_a.shop)
    url = reverse("admin:orders_order_changelist")
    ids = [seller_a.order.pk, second.pk, seller_b.order.pk]
    page = seller_a.client.post(url, {"action": "mark_shipped", "_selected_action": ids})
    assert page.status_code == 200
    body = page.content.decode()
    assert f"tracking_{second.pk}" in body and f"tracking_{seller_b.order.pk}" not in body
    bad = seller_a.client.post(
        url,
        {"action": "mark_shipped", "_selected_action": ids, "apply": "1", f"tracking_{seller_a.order.pk}": "TRACK0001"},
    )
    assert bad.status_code == 400  # the second order has no tracking number: nothing shipped
    assert Order.objects.filter(status=Order.Status.SHIPPED).count() == 0
    with django_capture_on_commit_callbacks(execute=True):
        done = seller_a.client.post(
            url,
            {
                "action": "mark_shipped",
                "_selected_action": ids,
                "apply": "1",
                f"tracking_{seller_a.order.pk}": "TRACK0001",
                f"tracking_{second.pk}": "TRACK0002",
                f"tracking_{seller_b.order.pk}": "HIJACK01",
            },
        )
    assert done.status_code == 302
    assert dict(Order.objects.filter(status=Order.Status.SHIPPED).values_list("pk", "tracking_number")) == {
        seller_a.order.pk: "TRACK0001",
        second.pk: "TRACK0002",
    }
    assert Order.objects.get(pk=seller_b.order.pk).status == Order.Status.PAID
    assert len(mail.outbox) == 2
