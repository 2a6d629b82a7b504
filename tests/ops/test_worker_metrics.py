"""A real Celery worker counts business metrics across its pool processes and logs with task context."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import structlog
from django.utils import timezone

from cart.models import CartItem
from etsy.celery import app as celery_app
from tests.cart.factories import CartItemFactory

from .conftest import http_get
from .metrics_reading import MetricsSnapshot

pytestmark = [pytest.mark.slow, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def scrape_worker(worker) -> MetricsSnapshot:
    status, _, body = http_get(worker.metrics_url)
    assert status == 200
    return MetricsSnapshot(body.decode())


def wait_until(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_expired_reservations_cleaned_by_a_real_worker_show_on_its_metrics(celery_worker_with_metrics):
    worker = celery_worker_with_metrics
    celery_app.conf.task_always_eager = False  # the autouse eager fixture restores it
    before = scrape_worker(worker).value("etsy_reservations_expired_total")

    total = 0
    for batch in (2, 3):
        items = [CartItemFactory(reserved_until=timezone.now() - timedelta(minutes=1)) for _ in range(batch)]
        total += batch
        structlog.contextvars.bind_contextvars(request_id=f"req-batch-{batch}")
        try:
            celery_app.send_task("cart.tasks.cleanup_expired_reservations")  # as beat sends it
        finally:
            structlog.contextvars.unbind_contextvars("request_id")
        assert wait_until(lambda: not CartItem.objects.filter(pk__in=[i.pk for i in items]).exists())
        # counted once the task returns; the row deletion commits just before
        assert wait_until(lambda: scrape_worker(worker).value("etsy_reservations_expired_total") - before == total)

    assert scrape_worker(worker).value("etsy_reservations_expired_total") - before == 5

    def task_lines():
        return [r for r in worker.log_records() if r.get("event") == "Cleaned up 3 expired reservations"]

    assert wait_until(lambda: task_lines(), timeout=10)
    [line] = task_lines()
    assert line["task_name"] == "cart.tasks.cleanup_expired_reservations"
    assert line["task_id"] and line["request_id"] == "req-batch-3"
    assert line["count"] == 3 and line["event_type"] == "reservations_expired"
