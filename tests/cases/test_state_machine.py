"""Every case transition and every refusal, against the database, with an injected clock."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from cases import services
from cases.models import Case, CaseEvent
from etsy.exceptions import DomainError
from etsy.outbox.models import OutboxMessage
from orders.exceptions import OrderNotFound
from orders.models import Order
from orders.services.fulfilment import cancel_order, mark_delivered
from tests.accounts.factories import UserFactory
from tests.cases.conftest import buy, day_after_estimate

pytestmark = pytest.mark.django_db
HOURS = datetime.timedelta(hours=1)


def _code(fn, **kwargs) -> str:
    with pytest.raises(DomainError) as caught:
        fn(**kwargs)
    return caught.value.code


def _open(buyer, order, now, kind="not_received"):
    return services.open_case(buyer=buyer, order_id=order.pk, kind=kind, description="Nothing came.", now=now)


@pytest.fixture
def staff(db):
    return UserFactory(email="staff@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def case(buyer, shipped_order, late):
    return _open(buyer, shipped_order, late)


# --- opening -----------------------------------------------------------------------------------------------


def test_open_not_received_after_the_estimate_gives_the_seller_48_hours(buyer, shipped_order, late, settings):
    case = _open(buyer, shipped_order, late)
    assert (case.status, case.kind, case.shop_id) == ("open", "not_received", shipped_order.shop_id)
    assert case.seller_deadline == late + datetime.timedelta(hours=settings.CASE_SELLER_RESPONSE_HOURS)
    [event] = case.events.all()
    assert (event.kind, event.role, event.body) == ("opened", "buyer", "Nothing came.")
    rows = OutboxMessage.objects.filter(topic="cases.event")
    assert sorted(r.payload["side"] for r in rows) == ["buyer", "seller"]


def test_open_on_or_before_the_estimated_date_is_too_early(buyer, shipped_order, late):
    on_the_day = late - datetime.timedelta(days=1)
    assert _code(_open, buyer=buyer, order=shipped_order, now=on_the_day) == "case_too_early"
    assert not Case.objects.exists() and not OutboxMessage.objects.filter(topic="cases.event").exists()


def test_open_refuses_other_buyers_orders_as_missing(shipped_order, late):
    with pytest.raises(OrderNotFound):
        _open(UserFactory(), shipped_order, late)


def test_open_refuses_cancelled_pending_and_wrong_kind_for_the_state(buyer, shop):
    paid_order = buy(buyer, shop)
    late = day_after_estimate(paid_order)
    assert _code(_open, buyer=buyer, order=paid_order, now=late, kind="not_as_described") == "order_not_shipped"
    assert _open(buyer, paid_order, late).status == "open"  # paid, never shipped, past the estimate: not received
    cancelled = cancel_order(order=buy(buyer, shop))
    assert _code(_open, buyer=buyer, order=cancelled, now=late) == "order_cancelled"
    pending = buy(buyer, shop)
    Order.objects.filter(pk=pending.pk).update(status="pending_payment")
    assert _code(_open, buyer=buyer, order=pending, now=late) == "order_not_paid"


def test_delivered_orders_take_not_as_described_at_once_but_never_not_received(buyer, shipped_order, late):
    mark_delivered(order=shipped_order, via=Order.DeliveredVia.BUYER)
    before_estimate = late - datetime.timedelta(days=3)
    assert _code(_open, buyer=buyer, order=shipped_order, now=late) == "order_delivered"
    case = _open(buyer, shipped_order, before_estimate, kind="not_as_described")
    assert case.kind == "not_as_described"


def test_one_active_case_per_order_then_a_new_one_after_closing(buyer, case, shipped_order, late):
    error = pytest.raises(DomainError, _open, buyer, shipped_order, late)
    assert error.value.code == "case_open" and error.value.extra == {"case_id": case.pk}
    services.close_by_buyer(buyer=buyer, case_id=case.pk, now=late)
    assert _open(buyer, shipped_order, late + HOURS).pk != case.pk


@pytest.mark.parametrize(
    ("kind", "description"), [("lost", "Nothing came."), ("not_received", "   "), ("not_received", "x" * 2001)]
)
def test_open_refuses_bad_input_with_400(buyer, shipped_order, late, kind, description):
    with pytest.raises(DomainError) as caught:
        services.open_case(buyer=buyer, order_id=shipped_order.pk, kind=kind, description=description, now=late)
    assert (caught.value.code, caught.value.status_code) == ("invalid_case", 400)
    assert not Case.objects.exists()


# --- the seller --------------------------------------------------------------------------------------------


def test_seller_answer_moves_open_to_responded_and_stays_there(seller, case, late):
    services.add_seller_message(seller=seller, case_id=case.pk, body="Let me check with the carrier.", now=late)
    services.add_seller_message(seller=seller, case_id=case.pk, body="It is at the depot.", now=late + HOURS)
    case.refresh_from_db()
    assert (case.status, case.seller_responded_at) == ("seller_responded", late)
    assert [e.role for e in case.events.all()] == ["buyer", "seller", "seller"]


def test_another_seller_cannot_reach_the_case(case, late):
    other = UserFactory(is_staff=True)
    assert _code(services.add_seller_message, seller=other, case_id=case.pk, body="Hi", now=late) == "case_not_found"
    assert _code(services.refund_by_seller, seller=other, case_id=case.pk, now=late) == "case_not_found"


def test_seller_full_refund_resolves_the_case(seller, case, shipped_order, late):
    services.refund_by_seller(seller=seller, case_id=case.pk, now=late)
    case.refresh_from_db()
    assert (case.status, case.refund_amount, case.resolved_at) == ("resolved_refunded", shipped_order.total, late)
    assert _code(services.add_buyer_message, buyer=case.buyer, case_id=case.pk, body="Thanks") == "case_closed"


def test_seller_partial_refund_answers_once(seller, case, late):
    services.refund_by_seller(seller=seller, case_id=case.pk, amount=Decimal("5.00"), note="For the delay", now=late)
    case.refresh_from_db()
    assert (case.status, case.refund_amount) == ("seller_responded", Decimal("5.00"))
    refund = case.events.get(kind="refund")
    assert (refund.amount, refund.body) == (Decimal("5.00"), "For the delay")
    assert _code(services.refund_by_seller, seller=seller, case_id=case.pk, now=late) == "case_already_refunded"


def test_seller_refund_too_large_changes_nothing(seller, case, shipped_order, late):
    too_much = shipped_order.total + Decimal("0.01")
    assert _code(services.refund_by_seller, seller=seller, case_id=case.pk, amount=too_much) == "refund_too_large"
    case.refresh_from_db()
    assert (case.status, case.refund_amount, case.events.count()) == ("open", 0, 1)


def test_seller_cannot_refund_an_escalated_case(seller, case, late):
    services.escalate_overdue_cases(now=case.seller_deadline)
    assert _code(services.refund_by_seller, seller=seller, case_id=case.pk, now=late) == "case_escalated"


# --- escalation ----------------------------------------------------------------------------------------------


def test_buyer_escalates_only_after_the_deadline_and_twice_is_once(buyer, case):
    early = case.seller_deadline - datetime.timedelta(minutes=1)
    assert _code(services.escalate_by_buyer, buyer=buyer, case_id=case.pk, now=early) == "case_deadline_not_passed"
    services.escalate_by_buyer(buyer=buyer, case_id=case.pk, now=case.seller_deadline)
    services.escalate_by_buyer(buyer=buyer, case_id=case.pk, now=case.seller_deadline + HOURS)
    case.refresh_from_db()
    assert (case.status, case.escalated_at) == ("escalated", case.seller_deadline)
    assert case.events.filter(kind="escalated", role="buyer").count() == 1


def test_the_task_escalates_unanswered_cases_past_the_deadline_only(buyer, seller, shop, case, late):
    unshipped = buy(buyer, shop)
    answered = _open(buyer, unshipped, day_after_estimate(unshipped))  # paid, never shipped, past its estimate
    services.add_seller_message(seller=seller, case_id=answered.pk, body="Sorry, shipping now.", now=late)
    assert services.escalate_overdue_cases(now=case.seller_deadline - HOURS) == 0
    both_overdue = max(case.seller_deadline, answered.seller_deadline)
    assert services.escalate_overdue_cases(now=both_overdue) == 1
    assert services.escalate_overdue_cases(now=both_overdue + HOURS) == 0  # idempotent
    case.refresh_from_db()
    answered.refresh_from_db()
    assert (case.status, answered.status) == ("escalated", "seller_responded")
    assert case.events.get(kind="escalated").role == "system"


def test_the_beat_task_runs_the_escalation(case, settings):
    from cases.tasks import escalate_overdue_cases

    past = timezone.now() - HOURS
    Case.objects.filter(pk=case.pk).update(opened_at=past - 48 * HOURS, seller_deadline=past)  # time travel
    assert escalate_overdue_cases.apply().result == 1
    assert "escalate-overdue-cases" in settings.CELERY_BEAT_SCHEDULE


# --- the buyer closes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["open", "seller_responded", "escalated"])
def test_buyer_closes_an_active_case_once(buyer, seller, case, late, state):
    if state == "seller_responded":
        services.add_seller_message(seller=seller, case_id=case.pk, body="Shipped again.", now=late)
    if state == "escalated":
        services.escalate_overdue_cases(now=case.seller_deadline)
    services.close_by_buyer(buyer=buyer, case_id=case.pk, note="It arrived.", now=late + HOURS)
    services.close_by_buyer(buyer=buyer, case_id=case.pk, now=late + 2 * HOURS)
    case.refresh_from_db()
    assert (case.status, case.resolved_by, case.resolved_at) == ("closed_by_buyer", buyer, late + HOURS)
    assert case.events.filter(kind="closed").count() == 1
    assert _code(services.escalate_by_buyer, buyer=buyer, case_id=case.pk, now=case.seller_deadline) == "case_closed"
    assert _code(services.add_seller_message, seller=seller, case_id=case.pk, body="?") == "case_closed"


def test_another_buyer_cannot_touch_the_case(case):
    other = UserFactory()
    assert _code(services.close_by_buyer, buyer=other, case_id=case.pk) == "case_not_found"
    assert _code(services.add_buyer_message, buyer=other, case_id=case.pk, body="Hi") == "case_not_found"


# --- staff decide --------------------------------------------------------------------------------------


def test_only_marketplace_staff_decide_and_only_escalated_cases(seller, staff, case):
    assert _code(services.decide_case, staff=seller, case_id=case.pk, refund=False) == "not_marketplace_staff"
    assert _code(services.decide_case, staff=staff, case_id=case.pk, refund=False) == "case_not_escalated"


def test_staff_refund_an_amount_records_who_and_when(staff, case, late):
    services.escalate_overdue_cases(now=case.seller_deadline)
    when = case.seller_deadline + HOURS
    services.decide_case(staff=staff, case_id=case.pk, refund=True, amount=Decimal("12.34"), note="Lost.", now=when)
    case.refresh_from_db()
    assert (case.status, case.refund_amount, case.resolved_by, case.resolved_at) == (
        "resolved_refunded",
        Decimal("12.34"),
        staff,
        when,
    )
    decision = case.events.get(kind="decision")
    assert (decision.author, decision.amount, decision.body) == (staff, Decimal("12.34"), "Lost.")
    assert _code(services.decide_case, staff=staff, case_id=case.pk, refund=False) == "case_not_escalated"


def test_staff_full_refund_tops_up_a_partial_seller_refund(seller, staff, buyer, case, shipped_order):
    services.refund_by_seller(seller=seller, case_id=case.pk, amount=Decimal("5.00"))
    services.escalate_by_buyer(buyer=buyer, case_id=case.pk, now=case.seller_deadline)
    services.decide_case(staff=staff, case_id=case.pk, refund=True)
    case.refresh_from_db()
    assert (case.status, case.refund_amount) == ("resolved_refunded", shipped_order.total)


def test_staff_close_without_refund_and_no_new_case_after_a_decision(buyer, staff, case, shipped_order, late):
    services.escalate_overdue_cases(now=case.seller_deadline)
    services.decide_case(staff=staff, case_id=case.pk, refund=False, note="Tracking shows delivery.")
    case.refresh_from_db()
    assert (case.status, case.refund_amount, case.resolved_by) == ("resolved_closed", 0, staff)
    assert _code(_open, buyer=buyer, order=shipped_order, now=late, kind="not_received") == "case_decided"


def test_staff_refund_too_large_leaves_the_case_escalated(staff, case, shipped_order):
    services.escalate_overdue_cases(now=case.seller_deadline)
    amount = shipped_order.total + Decimal("1.00")
    assert _code(services.decide_case, staff=staff, case_id=case.pk, refund=True, amount=amount) == "refund_too_large"
    case.refresh_from_db()
    assert case.status == "escalated" and not case.events.filter(kind="decision").exists()


def test_staff_notes_are_part_of_the_thread(staff, case):
    services.add_staff_note(staff=staff, case_id=case.pk, body="Asked the carrier.")
    assert case.events.filter(kind="message", role="staff", author=staff).exists()


# --- messages ----------------------------------------------------------------------------------------------


def test_the_same_message_twice_at_once_is_one_message(buyer, case, late):
    first = services.add_buyer_message(buyer=buyer, case_id=case.pk, body="Any news?", now=late)
    again = services.add_buyer_message(buyer=buyer, case_id=case.pk, body="Any news?", now=late)
    later = services.add_buyer_message(buyer=buyer, case_id=case.pk, body="Any news?", now=late + HOURS)
    assert first.pk == again.pk != later.pk
    assert CaseEvent.objects.filter(case=case, kind="message").count() == 2


def test_buyer_escalation_note_goes_into_the_thread_with_it_and_a_refused_one_leaves_no_note(buyer, case):
    early = case.seller_deadline - datetime.timedelta(minutes=1)
    assert (
        _code(services.escalate_by_buyer, buyer=buyer, case_id=case.pk, note="Please help", now=early)
        == "case_deadline_not_passed"
    )
    assert not case.events.filter(kind="message", body="Please help").exists()
    services.escalate_by_buyer(buyer=buyer, case_id=case.pk, note="  Still nothing.  ", now=case.seller_deadline)
    case.refresh_from_db()
    assert case.status == "escalated"
    assert list(case.events.filter(kind="message", role="buyer").values_list("body", flat=True)) == ["Still nothing."]
