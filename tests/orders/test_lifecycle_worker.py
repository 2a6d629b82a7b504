"""The beat task on a real Celery worker: overdue shipped orders are delivered and their buyers emailed once."""

from datetime import timedelta
from email.header import decode_header, make_header

import pytest
from django.utils import timezone

from orders.models import Order
from orders.tasks import mark_overdue_deliveries
from tests.orders.factories import OrderFactory, OrderItemFactory
from tests.worker import celery_worker  # noqa: F401  (fixture)


@pytest.mark.worker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_real_worker_runs_the_overdue_delivery_task_and_emails_the_buyer(celery_worker, buyer, settings):  # noqa: F811
    overdue = OrderFactory(
        buyer=buyer,
        status=Order.Status.SHIPPED,
        tracking_number="1Z999AA10123456784",
        estimated_delivery=timezone.localdate() - timedelta(days=settings.AUTO_DELIVER_AFTER_DAYS + 1),
    )
    OrderItemFactory(order=overdue)
    on_time = OrderFactory(buyer=buyer, status=Order.Status.SHIPPED, estimated_delivery=timezone.localdate())

    mark_overdue_deliveries.delay()
    mark_overdue_deliveries.delay()  # beat may fire twice (restart): one effect

    mail = celery_worker.wait_for_mail(lambda msgs: len(msgs) >= 1, timeout=90)
    assert [m["To"] for m in mail] == [buyer.email]
    subject = str(make_header(decode_header(mail[0]["Subject"])))
    assert subject.startswith(f"Your order #{overdue.pk} from") and subject.endswith("was delivered — how was it?")
    overdue.refresh_from_db()
    on_time.refresh_from_db()
    assert overdue.status == "delivered" and overdue.delivered_via == "auto"
    assert on_time.status == "shipped"
    assert "orders.tasks.mark_overdue_deliveries" in celery_worker.log()
