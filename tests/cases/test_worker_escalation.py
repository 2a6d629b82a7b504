"""Through a real Celery worker: the beat task escalates an overdue case and the worker emails both sides."""

import datetime

import pytest
from django.utils import timezone

from cases import services
from cases.models import Case
from cases.tasks import escalate_overdue_cases
from tests.cases.conftest import buy, day_after_estimate, ship
from tests.worker import celery_worker  # noqa: F401  (fixture)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_the_beat_task_on_a_real_worker_escalates_and_emails_buyer_and_seller(celery_worker, buyer, seller, shop):  # noqa: F811
    order = ship(buy(buyer, shop))
    case = services.open_case(
        buyer=buyer, order_id=order.pk, kind="not_received", description="Nothing came.", now=day_after_estimate(order)
    )
    Case.objects.filter(pk=case.pk).update(seller_deadline=timezone.now() - datetime.timedelta(minutes=1))

    escalate_overdue_cases.delay()  # what beat sends every 10 minutes

    def escalation_mails(messages):
        return [m for m in messages if "is with marketplace staff" in m["Subject"]]

    messages = celery_worker.wait_for_mail(lambda msgs: len(escalation_mails(msgs)) >= 2, timeout=90)
    assert sorted(m["To"] for m in escalation_mails(messages)) == [buyer.email, seller.email]
    assert Case.objects.get(pk=case.pk).status == "escalated"
