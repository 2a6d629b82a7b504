"""Two submissions at once have one effect: real concurrent transactions, released together by a barrier."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases import services
from cases.models import Case, CaseEvent
from etsy.exceptions import DomainError
from payments.models import LedgerEntry
from tests.accounts.factories import UserFactory
from tests.cases.conftest import buy, day_after_estimate, ship
from tests.orders.conftest import in_thread_db
from tests.orders.test_order_locks import order_row_locks

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
ROUNDS = 3


def _race(*calls) -> Counter:
    barrier = threading.Barrier(len(calls))

    @in_thread_db
    def run(call):
        barrier.wait()
        try:
            call()
            return "ok"
        except DomainError as exc:
            return exc.code

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return Counter(pool.map(run, calls))


def _case(buyer, shop):
    order = ship(buy(buyer, shop))
    late = day_after_estimate(order)
    case = services.open_case(buyer=buyer, order_id=order.pk, kind="not_received", description="Lost.", now=late)
    return order, case


def test_two_full_refunds_of_a_case_at_once_refund_once(buyer, seller, shop):
    for _ in range(ROUNDS):
        order, case = _case(buyer, shop)
        outcomes = _race(*[lambda: services.refund_by_seller(seller=seller, case_id=case.pk)] * 2)
        assert outcomes == {"ok": 1, "case_closed": 1}, outcomes
        assert [e.amount for e in LedgerEntry.objects.filter(order=order, kind="refund")] == [-order.total]
        assert CaseEvent.objects.filter(case=case, kind="refund").count() == 1


def test_two_staff_decisions_at_once_refund_once(buyer, shop):
    staff = UserFactory(is_staff=True, is_superuser=True)
    for _ in range(ROUNDS):
        order, case = _case(buyer, shop)
        services.escalate_overdue_cases(now=case.seller_deadline)
        decide = lambda: services.decide_case(staff=staff, case_id=case.pk, refund=True, amount=Decimal("9.99"))  # noqa: E731
        assert _race(decide, decide) == {"ok": 1, "case_not_escalated": 1}
        assert [e.amount for e in LedgerEntry.objects.filter(order=order, kind="refund")] == [Decimal("-9.99")]
        assert Case.objects.get(pk=case.pk).refund_amount == Decimal("9.99")


def test_the_buyer_and_the_beat_task_escalating_at_once_escalate_once(buyer, shop):
    for _ in range(ROUNDS):
        _, case = _case(buyer, shop)
        when = case.seller_deadline
        outcomes = _race(
            lambda: services.escalate_by_buyer(buyer=buyer, case_id=case.pk, now=when),
            lambda: services.escalate_overdue_cases(now=when),
            lambda: services.escalate_by_buyer(buyer=buyer, case_id=case.pk, now=when),
        )
        assert outcomes == {"ok": 3}
        assert Case.objects.get(pk=case.pk).status == "escalated"
        assert CaseEvent.objects.filter(case=case, kind="escalated").count() == 1


def test_two_cases_opened_at_once_open_one(buyer, shop):
    for _ in range(ROUNDS):
        order = ship(buy(buyer, shop))
        late = day_after_estimate(order)
        open_ = lambda: services.open_case(  # noqa: E731
            buyer=buyer, order_id=order.pk, kind="not_received", description="Lost.", now=late
        )
        assert _race(open_, open_) == {"ok": 1, "case_open": 1}
        assert Case.objects.filter(order=order).count() == 1


def test_opening_a_case_locks_the_order_for_no_key_update(buyer, shop):
    # Not FOR UPDATE: it blocks other transactions' foreign-key checks of the order (tests/orders/test_order_locks.py)
    order = ship(buy(buyer, shop))
    with CaptureQueriesContext(connection) as queries:
        services.open_case(
            buyer=buyer, order_id=order.pk, kind="not_received", description="Lost.", now=day_after_estimate(order)
        )
    locks = order_row_locks(queries.captured_queries)
    assert locks and all("FOR NO KEY UPDATE" in sql for sql in locks), locks
