"""The order's state machine after payment: every transition, every refusal, and the emails each sends.

pending_payment --charge succeeds--> paid --mark_shipped--> shipped --(buyer | carrier | beat)--> delivered
pending_payment | paid --cancel_order (seller, or the buyer's request accepted)--> cancelled
cancellation request: (none) --buyer--> pending --seller accepts--> accepted (order cancelled)
                                                --seller declines--> declined
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from catalog.models import Product
from etsy.exceptions import DomainError
from orders import extensions
from orders.models import CancellationRequest, Order, Review, TrackingEvent
from orders.services import cancellations, fulfilment, reviews
from orders.services.cancellations import ACCEPT, DECLINE
from tests.catalog.factories import set_listing_stock
from tests.orders.factories import OrderFactory, OrderItemFactory
from tests.payments.conftest import run_outbox

pytestmark = pytest.mark.django_db


def _code(fn, **kwargs) -> str:
    with pytest.raises(DomainError) as caught:
        fn(**kwargs)
    return caught.value.code


def _emails() -> list[tuple[str, str]]:
    run_outbox()
    return [(m.to[0], m.subject) for m in mail.outbox]


@pytest.fixture
def paid(buyer, shop):
    order = OrderFactory(buyer=buyer, shop=shop, status=Order.Status.PAID)
    OrderItemFactory(order=order, quantity=2)
    return order


@pytest.fixture
def shipped(paid):
    fulfilment.mark_shipped(order=paid, tracking_number="1Z9999999999999999")
    paid.refresh_from_db()
    mail.outbox.clear()
    run_outbox()
    mail.outbox.clear()
    return paid


# --- delivered, three ways -------------------------------------------------------


def test_buyer_confirms_receipt_once_and_is_emailed_once_with_a_review_link(buyer, shipped, settings):
    settings.SITE_URL = "https://makers.example"
    order = fulfilment.confirm_received(buyer=buyer, order_id=shipped.pk)
    again = fulfilment.confirm_received(buyer=buyer, order_id=shipped.pk)

    assert order.status == again.status == "delivered" and order.delivered_via == "buyer"
    assert again.delivered_at == order.delivered_at
    sent = _emails()
    assert sent == [(buyer.email, f"Your order #{shipped.pk} from {shipped.shop.name} was delivered — how was it?")]
    body, html = mail.outbox[0].body, mail.outbox[0].alternatives[0][0]
    assert f"https://makers.example/orders/{shipped.pk}/#review" in body and "#review" in html


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (Order.Status.PENDING_PAYMENT, "order_not_shipped"),
        (Order.Status.PAID, "order_not_shipped"),
        (Order.Status.CANCELLED, "order_cancelled"),
    ],
)
def test_receipt_is_refused_before_shipping_and_changes_nothing(buyer, status, code):
    order = OrderFactory(buyer=buyer, status=status)
    assert _code(fulfilment.confirm_received, buyer=buyer, order_id=order.pk) == code
    order.refresh_from_db()
    assert order.status == status and order.delivered_at is None and _emails() == []


def test_another_buyers_order_cannot_be_confirmed(other_buyer, shipped):
    assert _code(fulfilment.confirm_received, buyer=other_buyer, order_id=shipped.pk) == "order_not_found"
    shipped.refresh_from_db()
    assert shipped.status == "shipped"


def test_carrier_delivered_status_marks_every_order_with_the_number_and_other_statuses_are_recorded(shipped):
    from orders.services.tracking import record_tracking_update

    now = timezone.now()
    number = shipped.tracking_number.lower()  # carriers do not keep the seller's case
    assert record_tracking_update(carrier="UPS", tracking_number=number, status="in_transit", occurred_at=now) == (
        "recorded"
    )
    shipped.refresh_from_db()
    assert shipped.status == "shipped"
    later = now + timedelta(hours=5)
    for _ in range(2):  # a replay changes nothing
        outcome = record_tracking_update(carrier="UPS", tracking_number=number, status="delivered", occurred_at=later)
        assert outcome == "delivered"
    shipped.refresh_from_db()
    assert shipped.status == "delivered" and shipped.delivered_via == "carrier"
    assert list(TrackingEvent.objects.values_list("status", flat=True)) == ["in_transit", "delivered"]
    assert len(_emails()) == 1


def test_unknown_tracking_number_changes_nothing(shipped):
    from orders.services.tracking import record_tracking_update

    outcome = record_tracking_update(
        carrier="UPS", tracking_number="1Z0000000000000000", status="delivered", occurred_at=timezone.now()
    )
    assert outcome == "unknown_tracking" and not TrackingEvent.objects.exists()
    shipped.refresh_from_db()
    assert shipped.status == "shipped"


def test_beat_task_delivers_only_orders_past_their_estimate_plus_the_setting(buyer, shop, settings):
    from orders.tasks import mark_overdue_deliveries

    settings.AUTO_DELIVER_AFTER_DAYS = 14
    today = timezone.localdate()
    due = OrderFactory(buyer=buyer, shop=shop, status="shipped", estimated_delivery=today - timedelta(days=14))
    not_yet = OrderFactory(buyer=buyer, shop=shop, status="shipped", estimated_delivery=today - timedelta(days=13))
    paid = OrderFactory(buyer=buyer, shop=shop, status="paid", estimated_delivery=today - timedelta(days=30))

    assert mark_overdue_deliveries.apply().get() == 1
    assert mark_overdue_deliveries.apply().get() == 0  # idempotent
    statuses = dict(Order.objects.values_list("pk", "status"))
    assert statuses == {due.pk: "delivered", not_yet.pk: "shipped", paid.pk: "paid"}
    assert Order.objects.get(pk=due.pk).delivered_via == "auto"
    assert len(_emails()) == 1


def test_beat_schedule_runs_the_overdue_delivery_task_daily(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["mark-overdue-deliveries"]
    assert entry["task"] == "orders.tasks.mark_overdue_deliveries"
    from etsy.celery import app

    assert "orders.tasks.mark_overdue_deliveries" in app.tasks
    assert entry["schedule"].remaining_estimate(timezone.now()) <= timedelta(days=1)


# --- the review window -------------------------------------------------------------


def test_review_window_opens_at_delivery_and_closes_after_the_setting(buyer, shipped, settings):
    settings.REVIEW_WINDOW_DAYS = 100
    delivered = fulfilment.confirm_received(buyer=buyer, order_id=shipped.pk)
    window = delivered.review_window
    assert window.opens_at == delivered.delivered_at
    assert window.closes_at == delivered.delivered_at + timedelta(days=100)
    assert delivered.can_be_reviewed


def test_shipped_order_nobody_marked_delivered_opens_at_the_estimated_date(buyer, shipped):
    assert not shipped.can_be_reviewed  # the estimate is days ahead
    assert _code(reviews.leave_review, buyer=buyer, order_id=shipped.pk, rating=5) == "order_not_reviewable"
    Order.objects.filter(pk=shipped.pk).update(estimated_delivery=timezone.localdate() - timedelta(days=1))
    shipped.refresh_from_db()
    assert shipped.status == "shipped" and shipped.can_be_reviewed
    assert reviews.leave_review(buyer=buyer, order_id=shipped.pk, rating=4).rating == 4


def test_review_and_edit_inside_the_window_refused_after_it_closes(buyer, shop, settings):
    order = OrderFactory(buyer=buyer, shop=shop, status="delivered")
    review = reviews.leave_review(buyer=buyer, order_id=order.pk, rating=2, comment="Chipped.")
    shop.refresh_from_db()
    assert shop.rating == Decimal("2.0")
    edited = reviews.edit_review(buyer=buyer, order_id=order.pk, rating=5, comment="The shop sent a new one.")
    assert edited.pk == review.pk and edited.rating == 5 and edited.edited_at
    shop.refresh_from_db()
    assert shop.rating == Decimal("5.0")

    Order.objects.filter(pk=order.pk).update(delivered_at=timezone.now() - timedelta(days=100, seconds=1))
    assert _code(reviews.edit_review, buyer=buyer, order_id=order.pk, rating=1) == "review_window_closed"
    assert _code(reviews.leave_review, buyer=buyer, order_id=order.pk, rating=1) == "review_window_closed"
    edited.refresh_from_db()
    assert edited.rating == 5


def test_edit_without_a_review_is_refused(buyer, shop):
    order = OrderFactory(buyer=buyer, shop=shop, status="delivered")
    assert _code(reviews.edit_review, buyer=buyer, order_id=order.pk, rating=3) == "review_not_found"


def test_an_open_case_blocks_reviews_and_edits(buyer, shop):
    order = OrderFactory(buyer=buyer, shop=shop, status="delivered")
    reviewed = OrderFactory(buyer=buyer, shop=shop, status="delivered")
    reviews.leave_review(buyer=buyer, order_id=reviewed.pk, rating=4)
    blocked = {order.pk, reviewed.pk}
    previous = extensions.is_review_blocked._supplied
    extensions.is_review_blocked._supplied = lambda *, order_id: order_id in blocked  # the cases app's answer
    try:
        assert _code(reviews.leave_review, buyer=buyer, order_id=order.pk, rating=5) == "case_open"
        assert _code(reviews.edit_review, buyer=buyer, order_id=reviewed.pk, rating=1) == "case_open"
    finally:
        extensions.is_review_blocked._supplied = previous
    assert not Review.objects.filter(order=order).exists()
    assert Review.objects.get(order=reviewed).rating == 4


# --- cancellations -------------------------------------------------------------------


def test_buyer_request_then_seller_accepts_refunds_in_full_and_restocks_once(
    buyer, paid, django_capture_on_commit_callbacks
):
    product = paid.items.get().product
    set_listing_stock(Product.objects.get(pk=product.pk), quantity=0)
    request = cancellations.request_cancellation(buyer=buyer, order_id=paid.pk, reason="Ordered the wrong colour.")
    assert request.status == "pending"
    assert _emails() == [(paid.shop.owner.email, f"The buyer of order #{paid.pk} asks to cancel it")]
    assert "Ordered the wrong colour." in mail.outbox[0].body and "/admin/orders/order/" in mail.outbox[0].body
    mail.outbox.clear()
    assert _code(fulfilment.mark_shipped, order=paid, tracking_number="1Z1") == "cancellation_pending"

    cancellations.decide_cancellation(order=paid, decision=ACCEPT)
    cancellations.decide_cancellation(order=paid, decision=ACCEPT)  # a double click: no second effect
    paid.refresh_from_db()
    request.refresh_from_db()
    assert paid.status == "cancelled" and request.status == "accepted" and request.decided_at
    assert Product.objects.get(pk=product.pk).quantity == 2
    from etsy.outbox.models import OutboxMessage

    assert OutboxMessage.objects.filter(topic="order.refund", payload__order_id=paid.pk).count() == 1
    assert OutboxMessage.objects.filter(topic="order.cancelled", payload__order_id=paid.pk).count() == 1
    assert len(_emails()) == 1
    cancelled_mail = [m for m in mail.outbox if "is cancelled" in m.subject]
    assert cancelled_mail[0].subject == f"Your order #{paid.pk} from {paid.shop.name} is cancelled — $28.00 refunded"
    assert "accepted your request" in cancelled_mail[0].body and "$28.00" in cancelled_mail[0].body
    assert _code(cancellations.decide_cancellation, order=paid, decision=DECLINE) == "cancellation_already_decided"


def test_seller_declines_the_order_goes_on_and_the_buyer_cannot_ask_again(buyer, paid):
    cancellations.request_cancellation(buyer=buyer, order_id=paid.pk, reason="Changed my mind")
    cancellations.decide_cancellation(order=paid, decision=DECLINE)
    cancellations.decide_cancellation(order=paid, decision=DECLINE)
    paid.refresh_from_db()
    assert paid.status == "paid" and paid.cancellation_request.status == "declined"
    subjects = [s for _, s in _emails()]
    assert subjects.count(f"{paid.shop.name} declined to cancel your order #{paid.pk}") == 1
    assert _code(cancellations.request_cancellation, buyer=buyer, order_id=paid.pk, reason="Please") == (
        "cancellation_already_requested"
    )
    assert _code(cancellations.decide_cancellation, order=paid, decision=ACCEPT) == "cancellation_already_decided"
    assert fulfilment.mark_shipped(order=paid, tracking_number="1Z2").status == "shipped"


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (Order.Status.SHIPPED, "order_already_shipped"),
        (Order.Status.DELIVERED, "order_already_shipped"),
        (Order.Status.CANCELLED, "order_cancelled"),
    ],
)
def test_cancellation_request_refused_once_shipped_or_cancelled(buyer, status, code):
    order = OrderFactory(buyer=buyer, status=status)
    assert _code(cancellations.request_cancellation, buyer=buyer, order_id=order.pk, reason="x") == code
    assert not CancellationRequest.objects.exists()


def test_cancellation_request_needs_a_reason_and_a_pending_one_is_not_repeated(buyer, other_buyer, paid):
    assert _code(cancellations.request_cancellation, buyer=buyer, order_id=paid.pk, reason="  ") == (
        "invalid_cancellation_reason"
    )
    assert _code(cancellations.request_cancellation, buyer=other_buyer, order_id=paid.pk, reason="x") == (
        "order_not_found"
    )
    cancellations.request_cancellation(buyer=buyer, order_id=paid.pk, reason="Too slow")
    assert _code(cancellations.request_cancellation, buyer=buyer, order_id=paid.pk, reason="Again") == (
        "cancellation_already_requested"
    )
    assert CancellationRequest.objects.get().reason == "Too slow"


def test_deciding_without_a_request_is_refused(paid):
    assert _code(cancellations.decide_cancellation, order=paid, decision=ACCEPT) == "no_cancellation_request"
    paid.refresh_from_db()
    assert paid.status == "paid"


def test_seller_cancel_accepts_a_pending_request_and_shipped_orders_cannot_be_cancelled(buyer, paid, shipped=None):
    cancellations.request_cancellation(buyer=buyer, order_id=paid.pk, reason="Duplicate order")
    fulfilment.cancel_order(order=paid)
    assert CancellationRequest.objects.get().status == "accepted"
    other = OrderFactory(buyer=buyer, status=Order.Status.SHIPPED)
    assert _code(fulfilment.cancel_order, order=other) == "order_already_shipped"


def test_seller_cancel_emails_the_buyer_without_a_refund_when_nothing_was_charged(buyer, shop):
    order = OrderFactory(buyer=buyer, shop=shop, status=Order.Status.PENDING_PAYMENT)
    fulfilment.cancel_order(order=order)
    order.refresh_from_db()
    assert order.refund_when_charged
    [(to, subject)] = _emails()
    assert to == buyer.email and subject == f"Your order #{order.pk} from {shop.name} is cancelled"
    assert "If your card is charged for it after all" in mail.outbox[0].body
