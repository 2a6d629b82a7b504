"""A task for the broker tests only: it writes which queue delivered it into a file."""

from pathlib import Path

from celery import shared_task

PROBE_TASK = "tests.ops.celery_probe.record_delivery"


@shared_task(name=PROBE_TASK, bind=True, acks_late=True)
def record_delivery(self, path: str) -> None:
    Path(path).write_text(self.request.delivery_info.get("routing_key") or "")
