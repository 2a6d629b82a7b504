"""A cancellation request the shop leaves unanswered is accepted for it: cancelled, refunded to the cent, told."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from orders.models import CancellationRequest, Order
from orders.services import cancellations
from orders.services.cancellations import DECLINE
from payments.models import LedgerEntry
from tests.api.conftest import buyer_client, client_for  # noqa: F401
from tests.cases.conftest import buy
from tests.payments.conftest import run_outbox

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery"


@pytest.fixture
def requested(buyer, shop):
    order = buy(buyer, shop, price="36.89")
    cancellations.request_cancellation(buyer=buyer, order_id=order.pk, reason="Ordered the wrong colour")
    run_outbox()
    mail.outbox.clear()
    return order


def _due(order) -> timezone.datetime:
    return CancellationRequest.objects.get(order=order).answer_due_at


def test_a_request_unanswered_past_the_deadline_is_accepted_refunded_and_both_sides_told(requested, settings):
    assert settings.CANCELLATION_RESPONSE_HOURS == 48
    due = _due(requested)
    assert cancellations.accept_overdue_cancellations(now=due - timedelta(minutes=1)) == 0
    assert Order.objects.get(pk=requested.pk).status == "paid"

    assert cancellations.accept_overdue_cancellations(now=due) == 1
    order = Order.objects.get(pk=requested.pk)
    request = CancellationRequest.objects.get(order=order)
    assert order.status == "cancelled" and request.status == "accepted" and request.accepted_on_timeout
    run_outbox()
    refunds = LedgerEntry.objects.filter(order=order, kind="refund").values_list("amount", flat=True)
    assert list(refunds) == [-order.total]  # in full, to the cent
    subjects = {m.to[0]: m.subject for m in mail.outbox}
    assert "went unanswered for 48 hours" in subjects[order.shop.owner.email]
    buyer_mail = next(m for m in mail.outbox if m.to == [order.buyer.email])
    assert "did not answer your request to cancel" in buyer_mail.body
    # Run again (the beat task every ten minutes): nothing more happens, nothing is refunded twice.
    assert cancellations.accept_overdue_cancellations(now=due + timedelta(hours=1)) == 0
    run_outbox()
    assert LedgerEntry.objects.filter(order=order, kind="refund").count() == 1


def test_a_request_the_shop_declined_or_accepted_in_time_is_left_alone(requested, buyer, shop):
    cancellations.decide_cancellation(order=requested, decision=DECLINE)
    assert cancellations.accept_overdue_cancellations(now=_due(requested) + timedelta(days=3)) == 0
    request = CancellationRequest.objects.get(order=requested)
    assert request.status == "declined" and not request.accepted_on_timeout
    assert Order.objects.get(pk=requested.pk).status == "paid"


def test_the_order_page_says_when_the_request_is_accepted_for_the_shop(requested, buyer):
    client = Client()
    assert client.login(email=buyer.email, password=PASSWORD)
    page = client.get(f"/orders/{requested.pk}/").content.decode()
    assert "we cancel it for you and refund you in full" in page
    cancellations.accept_overdue_cancellations(now=_due(requested))
    page = client.get(f"/orders/{requested.pk}/").content.decode()
    assert "The shop did not answer your request in time, so we cancelled this order for you." in page


def test_the_api_and_the_beat_schedule_carry_the_timeout(requested, buyer_client, settings):  # noqa: F811
    import orders.tasks  # noqa: F401  (registers the task, as the worker's autodiscovery does)
    from etsy.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["accept-overdue-cancellations"]
    assert entry["task"] == "orders.tasks.accept_overdue_cancellations" and entry["task"] in app.tasks
    cancellations.accept_overdue_cancellations(now=_due(requested))
    body = buyer_client.get(f"/api/v1/orders/{requested.pk}").json()
    assert body["cancellation_request"]["accepted_on_timeout"] is True and body["status"] == "cancelled"
