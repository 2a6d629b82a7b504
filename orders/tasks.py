"""Orders background jobs: outbox handling and payment resolution (scheduled in settings)."""

import logging
import smtplib

from celery import shared_task

from orders import outbox
from orders.payments import PaymentError, PaymentsOpenCircuit
from orders.services.checkout import resolve_unsettled_checkouts

logger = logging.getLogger(__name__)


@shared_task(
    name="orders.tasks.process_outbox_message",
    ignore_result=True,
    acks_late=True,
    autoretry_for=(smtplib.SMTPException, ConnectionError, TimeoutError, PaymentError, PaymentsOpenCircuit),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
)
def process_outbox_message(message_id: int) -> str:
    """Run one outbox row's handler (e.g. email a seller); at most once per row."""
    return outbox.process(message_id=message_id)


@shared_task(name="orders.tasks.relay_outbox", ignore_result=True)
def relay_outbox() -> int:
    """Hand outbox rows the after-commit relay missed to Celery (every 30 s)."""
    count = outbox.relay_pending()
    if count:
        logger.info("relayed %d outbox messages", count, extra={"event": "outbox_relayed", "count": count})
    return count


@shared_task(name="orders.tasks.resolve_pending_payments", ignore_result=True)
def resolve_pending_payments() -> dict:
    """Ask the provider about checkouts whose charge outcome is unknown and settle them (every minute)."""
    outcomes = resolve_unsettled_checkouts()
    if outcomes:
        logger.info("resolved pending payments", extra={"event": "payments_resolved", **outcomes})
    return outcomes
