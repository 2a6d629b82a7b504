"""A case refund in the ledger to the cent, the emails of every case update, and reviews blocked meanwhile."""

from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core import mail

from cases import services
from etsy.exceptions import DomainError
from orders.models import Order
from orders.services.fulfilment import mark_delivered
from orders.services.reviews import leave_review
from payments.models import LedgerEntry
from tests.accounts.factories import UserFactory
from tests.cases.conftest import run_outbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    return UserFactory(email="staff@example.com", is_staff=True, is_superuser=True)


def _entries(order, kind):
    return [e.amount for e in LedgerEntry.objects.filter(order=order, kind=kind).order_by("id")]


def test_a_staff_refund_books_the_ledger_to_the_cent_and_reaches_the_provider(buyer, staff, shipped_order, late):
    order = shipped_order
    case = services.open_case(buyer=buyer, order_id=order.pk, kind="not_received", description="Lost.", now=late)
    services.escalate_overdue_cases(now=case.seller_deadline)
    services.decide_case(staff=staff, case_id=case.pk, refund=True, amount=Decimal("12.34"))

    fee_share = (order.fees * Decimal("12.34") / order.total).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert _entries(order, "refund") == [Decimal("-12.34")]
    assert _entries(order, "fee_refund") == [fee_share]
    mail.outbox.clear()
    assert run_outbox("payments.refund_issued") == 1  # the provider refund and the transfer reversal, after commit
    assert [m.to for m in mail.outbox] == [[buyer.email]]  # payments' own refund email
    assert "$12.34" in mail.outbox[0].subject
    kept = sum(
        e.amount for e in LedgerEntry.objects.filter(order=order, kind__in=["sale", "fee", "refund", "fee_refund"])
    )
    assert kept == order.net - Decimal("12.34") + fee_share  # the seller's net less the refund plus its fee share


def test_a_seller_full_refund_gives_back_exactly_the_total_and_the_fees(seller, buyer, shipped_order, late):
    order = shipped_order
    case = services.open_case(buyer=buyer, order_id=order.pk, kind="not_received", description="Lost.", now=late)
    services.refund_by_seller(seller=seller, case_id=case.pk)
    assert _entries(order, "refund") == [-order.total]
    assert _entries(order, "fee_refund") == [order.fees]  # the books close to the cent


def _mails_by_recipient():
    return {m.to[0]: m for m in mail.outbox}


def test_every_case_update_is_emailed_to_the_right_people(buyer, seller, staff, shipped_order, late):
    mail.outbox.clear()
    case = services.open_case(
        buyer=buyer, order_id=shipped_order.pk, kind="not_received", description="Nothing came.", now=late
    )
    assert run_outbox("cases.event") == 2
    sent = _mails_by_recipient()
    assert set(sent) == {buyer.email, seller.email}
    assert f"Your case about order #{shipped_order.pk} is open" == sent[buyer.email].subject
    assert "Nothing came." in sent[seller.email].body and "/admin/cases/case/" in sent[seller.email].body

    mail.outbox.clear()
    services.add_seller_message(seller=seller, case_id=case.pk, body="Tom & Jerry's parcel is late", now=late)
    run_outbox("cases.event")
    [message] = mail.outbox
    assert message.to == [buyer.email] and "Tom & Jerry's parcel is late" in message.body  # not HTML-escaped
    assert "Tom &amp; Jerry&#x27;s" in message.alternatives[0][0]  # the HTML part is

    mail.outbox.clear()
    services.escalate_by_buyer(buyer=buyer, case_id=case.pk, now=case.seller_deadline)
    run_outbox("cases.event")
    assert set(_mails_by_recipient()) == {buyer.email, seller.email}

    mail.outbox.clear()
    services.decide_case(staff=staff, case_id=case.pk, refund=True, amount=Decimal("7.05"))
    run_outbox("cases.event")
    sent = _mails_by_recipient()
    assert set(sent) == {buyer.email, seller.email}
    for message in sent.values():
        assert message.subject.endswith(": $7.05 refunded")
        assert "refunded $7.05" in message.body


def test_a_seller_refund_emails_the_buyer_and_a_buyer_close_the_seller(buyer, seller, shipped_order, late):
    case = services.open_case(buyer=buyer, order_id=shipped_order.pk, kind="not_received", description="?", now=late)
    run_outbox("cases.event")
    mail.outbox.clear()
    services.refund_by_seller(seller=seller, case_id=case.pk, amount=Decimal("3.10"))
    run_outbox("cases.event")
    [refund] = mail.outbox
    assert refund.to == [buyer.email] and "$3.10" in refund.subject
    mail.outbox.clear()
    services.close_by_buyer(buyer=buyer, case_id=case.pk)
    run_outbox("cases.event")
    [closed] = mail.outbox
    assert closed.to == [seller.email] and "closed by the buyer" in closed.subject


def test_no_review_while_a_case_is_open_and_a_review_after_it_closes(buyer, shipped_order, late):
    case = services.open_case(
        buyer=buyer, order_id=shipped_order.pk, kind="not_received", description="Late.", now=late
    )
    mark_delivered(order=shipped_order, via=Order.DeliveredVia.BUYER)
    with pytest.raises(DomainError) as caught:
        leave_review(buyer=buyer, order_id=shipped_order.pk, rating=5, comment="Lovely")
    assert (caught.value.code, caught.value.status_code) == ("case_open", 409)
    services.close_by_buyer(buyer=buyer, case_id=case.pk)
    assert leave_review(buyer=buyer, order_id=shipped_order.pk, rating=5, comment="Lovely").rating == 5


def test_a_full_refund_outside_the_case_resolves_it_after_commit_and_tells_the_buyer(
    buyer, shipped_order, late, django_capture_on_commit_callbacks
):
    from payments.services.refunds import refund_order

    order = shipped_order
    case = services.open_case(buyer=buyer, order_id=order.pk, kind="not_received", description="Lost.", now=late)
    run_outbox("cases.event")  # the opening's own emails
    with django_capture_on_commit_callbacks(execute=True):
        refund_order(order=order, amount=Decimal("5.00"))  # in part: the case goes on
    case.refresh_from_db()
    assert case.status == "open" and case.refund_amount == 0
    rest = order.total - Decimal("5.00")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        refund_order(order=order)  # the rest, from the payments admin: nothing left to decide
    assert callbacks  # the signal's receiver only scheduled the work; it ran after commit
    case.refresh_from_db()
    assert case.status == "resolved_refunded" and case.resolved_at is not None and case.refund_amount == rest
    event = case.events.order_by("id").last()
    assert (event.kind, event.role, event.amount) == ("refund", "system", rest)
    run_outbox("cases.event")
    resolved = [m for m in mail.outbox if "Your case is resolved." in m.body]
    assert [m.to for m in resolved] == [[buyer.email]]
    # A later signal for the same order (a retried task) changes nothing.
    assert services.resolve_case_refunded_outside(order_id=order.pk, amount=rest) is None


def test_a_full_refund_through_the_case_is_counted_once(
    seller, buyer, shipped_order, late, django_capture_on_commit_callbacks
):
    order = shipped_order
    case = services.open_case(buyer=buyer, order_id=order.pk, kind="not_received", description="Lost.", now=late)
    with django_capture_on_commit_callbacks(execute=True):
        services.refund_by_seller(seller=seller, case_id=case.pk)
    case.refresh_from_db()
    assert case.status == "resolved_refunded" and case.refund_amount == order.total
    assert list(case.events.filter(kind="refund").values_list("role", flat=True)) == ["seller"]
