import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from cart.models import CartItem
from etsy import metrics
from etsy.celery import app as celery_app
from tests.cart.factories import CartItemFactory

pytestmark = pytest.mark.django_db


def test_cleanup_task_deletes_only_expired_holds_logs_and_counts(caplog):
    expired = [CartItemFactory(reserved_until=timezone.now() - timedelta(seconds=s)) for s in (1, 600)]
    live = CartItemFactory(reserved_until=timezone.now() + timedelta(minutes=5))
    plain = CartItemFactory(reserved_until=None)
    before = metrics.reservations_expired._value.get()
    entry = celery_app.conf.beat_schedule["cleanup-expired-reservations"]
    celery_app.loader.import_default_modules()  # what a worker does at start: autodiscover tasks

    task_logger = logging.getLogger("cart.tasks")
    task_logger.addHandler(caplog.handler)  # Celery's tracer may reconfigure the root logger
    try:
        with caplog.at_level("INFO", logger="cart.tasks"):
            result = celery_app.tasks[entry["task"]].apply_async()  # beat sends the task by name, no args
    finally:
        task_logger.removeHandler(caplog.handler)

    assert result.get() == 2
    assert set(CartItem.objects.values_list("pk", flat=True)) == {live.pk, plain.pk}
    assert not CartItem.objects.filter(pk__in=[e.pk for e in expired]).exists()
    assert metrics.reservations_expired._value.get() == before + 2
    assert "Cleaned up 2 expired reservations" in caplog.text
    assert entry["schedule"] == 60.0
