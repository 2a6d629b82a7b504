"""The seller decides buyers' cancellation requests in the admin; the estimated delivery is on the list and detail."""

import datetime

import pytest
from django.urls import reverse

from catalog.models import Product
from orders.models import CancellationRequest, Order
from orders.services import cancellations
from tests.catalog.factories import set_listing_stock

pytestmark = pytest.mark.django_db


def _request(seller, reason="Ordered twice by mistake"):
    return cancellations.request_cancellation(buyer=seller.order.buyer, order_id=seller.order.pk, reason=reason)


def test_list_and_detail_show_the_estimated_delivery_and_a_pending_request(seller_a):
    Order.objects.filter(pk=seller_a.order.pk).update(estimated_delivery=datetime.date(2026, 12, 11))
    _request(seller_a)
    listing = seller_a.client.get(reverse("admin:orders_order_changelist")).content.decode()
    assert "Dec. 11, 2026" in listing and "Requested: decide" in listing
    detail = seller_a.client.get(reverse("admin:orders_order_change", args=[seller_a.order.pk])).content.decode()
    assert "Dec. 11, 2026" in detail and "Cancellation requested: accept or decline" in detail


def test_accept_in_the_admin_cancels_refunds_and_restocks_once(seller_a):
    set_listing_stock(Product.objects.get(pk=seller_a.product.pk), quantity=0)
    _request(seller_a)
    url = reverse("admin:orders_order_cancellation", args=[seller_a.order.pk])
    page = seller_a.client.get(url).content.decode()
    assert "Ordered twice by mistake" in page and "Accept and refund in full" in page
    assert seller_a.client.post(url, {"decision": "accept"}).status_code == 302
    assert seller_a.client.post(url, {"decision": "accept"}).status_code == 302  # stale page: a message, no effect
    order = Order.objects.get(pk=seller_a.order.pk)
    assert order.status == "cancelled" and order.cancellation_request.status == "accepted"
    assert Product.objects.get(pk=seller_a.product.pk).quantity == 1


def test_decline_in_the_admin_then_the_order_can_ship(seller_a):
    _request(seller_a)
    url = reverse("admin:orders_order_cancellation", args=[seller_a.order.pk])
    seller_a.client.post(url, {"decision": "decline"})
    assert CancellationRequest.objects.get().status == "declined"
    ship = reverse("admin:orders_order_ship", args=[seller_a.order.pk])
    seller_a.client.post(ship, {"tracking_number": "1Z999AA10123456784"})
    assert Order.objects.get(pk=seller_a.order.pk).status == "shipped"


def test_shipping_is_refused_while_a_request_waits(seller_a):
    _request(seller_a)
    ship = reverse("admin:orders_order_ship", args=[seller_a.order.pk])
    body = seller_a.client.post(ship, {"tracking_number": "1Z999AA10123456784"}, follow=True).content.decode()
    assert "asked to cancel" in body
    assert Order.objects.get(pk=seller_a.order.pk).status == "paid"


def test_bulk_actions_decide_only_own_pending_requests(seller_a, seller_b):
    _request(seller_a)
    _request(seller_b)
    payload = {"action": "accept_cancellations", "_selected_action": [seller_a.order.pk, seller_b.order.pk]}
    seller_a.client.post(reverse("admin:orders_order_changelist"), payload)
    assert Order.objects.get(pk=seller_a.order.pk).status == "cancelled"
    assert Order.objects.get(pk=seller_b.order.pk).status == "paid"  # another seller's order: untouched
    assert CancellationRequest.objects.get(order=seller_b.order).status == "pending"


def test_another_sellers_request_page_is_not_found(seller_a, seller_b):
    _request(seller_b)
    url = reverse("admin:orders_order_cancellation", args=[seller_b.order.pk])
    assert seller_a.client.get(url).status_code in (302, 404)
    assert seller_a.client.post(url, {"decision": "accept"}).status_code in (302, 404)
    assert Order.objects.get(pk=seller_b.order.pk).status == "paid"
