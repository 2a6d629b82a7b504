"""The buyer's order page through the lifecycle: estimate, receipt, cancellation request, refund shown, review edit."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from orders.models import Order, Review
from tests.orders.factories import OrderFactory, OrderItemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, buyer):
    client.force_login(buyer)
    return client


def test_page_shows_the_estimate_and_a_received_button_for_a_shipped_order(signed_in, buyer):
    order = OrderFactory(
        buyer=buyer,
        status="shipped",
        tracking_number="1Z999AA10123456784",
        estimated_delivery=datetime.date(2026, 12, 11),
    )
    OrderItemFactory(order=order)
    body = signed_in.get(order.get_absolute_url()).content.decode()
    assert "estimated delivery" in body and "Friday, Dec 11" in body
    assert "I received this order" in body and 'href="https://www.ups.com/track?tracknum=1Z999AA10123456784"' in body
    response = signed_in.post(reverse("orders:received", args=[order.pk]), follow=True)
    body = response.content.decode()
    assert "Thanks for letting us know" in body and "Post review" in body
    assert Order.objects.get(pk=order.pk).status == "delivered"


def test_received_on_an_unshipped_order_says_why_and_changes_nothing(signed_in, buyer):
    order = OrderFactory(buyer=buyer, status="paid")
    body = signed_in.post(reverse("orders:received", args=[order.pk]), follow=True).content.decode()
    assert "has not shipped yet" in body
    assert Order.objects.get(pk=order.pk).status == "paid"


def test_another_buyers_order_is_404_for_every_action(signed_in, other_buyer):
    theirs = OrderFactory(buyer=other_buyer, status="shipped")
    for name in ("orders:detail", "orders:received", "orders:cancellation", "orders:review"):
        method = signed_in.get if name == "orders:detail" else signed_in.post
        assert method(reverse(name, args=[theirs.pk]), {"reason": "x", "rating": 5}).status_code == 404
    assert Order.objects.get(pk=theirs.pk).status == "shipped"


def test_cancellation_request_form_and_the_refund_shown_after_acceptance(signed_in, buyer):
    from orders.services import cancellations
    from payments.services import ledger
    from tests.payments.conftest import run_outbox

    order = OrderFactory(buyer=buyer, status="paid", total=Decimal("28.00"))
    OrderItemFactory(order=order)
    ledger.record_sale(order=order)  # what payments booked when the checkout was paid
    assert "Ask to cancel" in signed_in.get(order.get_absolute_url()).content.decode()
    empty = signed_in.post(reverse("orders:cancellation", args=[order.pk]), {"reason": ""})
    assert empty.status_code == 400
    body = signed_in.post(reverse("orders:cancellation", args=[order.pk]), {"reason": "Wrong size"}, follow=True)
    assert "Your request is with the shop" in body.content.decode()
    cancellations.decide_cancellation(order=order, decision="accept")
    body = signed_in.get(order.get_absolute_url()).content.decode()
    assert "Cancelled — refund of $28.00 on its way" in body
    run_outbox()  # payments books the refund of the cancelled paid order
    body = signed_in.get(order.get_absolute_url()).content.decode()
    assert "accepted your request" in body
    assert "Cancelled — refunded $28.00" in body and "Refunded" in body


def test_review_form_edits_the_review_inside_the_window(signed_in, buyer):
    order = OrderFactory(buyer=buyer, status="delivered")
    url = reverse("orders:review", args=[order.pk])
    signed_in.post(url, {"rating": 3, "comment": "Fine"})
    body = signed_in.get(order.get_absolute_url()).content.decode()
    assert "Edit your review" in body and "Update review" in body
    signed_in.post(url, {"rating": 5, "comment": "Lovely after all"})
    review = Review.objects.get()
    assert review.rating == 5 and review.comment == "Lovely after all" and review.edited_at
    Order.objects.filter(pk=order.pk).update(delivered_at=order.delivered_at - datetime.timedelta(days=101))
    body = signed_in.post(url, {"rating": 1}, follow=True).content.decode()
    assert "only within 100 days" in body
    assert Review.objects.get().rating == 5


@pytest.mark.parametrize(
    ("payment_status", "shown"),
    [
        ("unknown", "Cancelled — if your payment still goes through, it is refunded at once"),
        ("paid", "Cancelled — refund of $28.00 on its way"),
        ("declined", "Cancelled — you were not charged"),
    ],
)
def test_an_order_cancelled_before_payment_says_what_happens_to_the_money(signed_in, buyer, payment_status, shown):
    order = OrderFactory(buyer=buyer, status="pending_payment", checkout__payment_status=payment_status)
    Order.objects.filter(pk=order.pk).update(status="cancelled", refund_when_charged=payment_status != "declined")
    assert shown in signed_in.get(order.get_absolute_url()).content.decode()


def test_a_shipped_order_refunded_in_full_says_so_and_the_carrier_delivery_is_told_once(signed_in, buyer):
    from payments.services import ledger, refunds
    from tests.payments.conftest import run_outbox

    order = OrderFactory(buyer=buyer, status="shipped", total=Decimal("28.00"), tracking_number="1Z999AA10123456784")
    OrderItemFactory(order=order)
    ledger.record_sale(order=order)
    refunds.refund_order(order=order)  # a lost parcel: the seller (or a case) refunds it in full
    run_outbox()
    body = signed_in.get(order.get_absolute_url()).content.decode()
    assert "Shipped — refunded $28.00" in body

    order.tracking_events.create(carrier="UPS", status="delivered", occurred_at=timezone.now())
    Order.objects.filter(pk=order.pk).update(
        status="delivered", delivered_at=timezone.now(), delivered_via=Order.DeliveredVia.CARRIER
    )
    body = signed_in.get(order.get_absolute_url()).content.decode()
    assert "Delivered — refunded $28.00" in body
    assert "The carrier reported the delivery." in body and "Delivered, says the carrier" not in body
