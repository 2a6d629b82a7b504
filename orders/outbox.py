"""Transactional outbox: side effects promised in the same transaction as the data.

``enqueue`` writes an OutboxMessage inside the caller's transaction; the caller
hands it to Celery with ``relay_on_commit``; ``relay_pending`` (beat, every 30 s)
re-hands anything not processed, so a broker outage at commit time loses nothing.
``process`` runs a message's handler at most once: the row is locked and marked
processed in the same transaction that decides to act (the email is sent inside
it, so a failure to send rolls the mark back and the message is retried).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone

from orders.models import Order, OutboxMessage

logger = logging.getLogger(__name__)

TOPIC_ORDER_PLACED = "order.placed"  # email the shop owner once the order is paid
TOPIC_ORDER_SHIPPED = "order.shipped"  # email the buyer the tracking number
TOPIC_ORDER_REFUND = "order.refund"  # give a cancelled paid order's money back

DONE, DEFER = "done", "defer"

# A row handed over but still unprocessed after this long is handed over again.
REDISPATCH_AFTER = timedelta(minutes=5)
# Rows younger than this are left to their after-commit relay.
SWEEP_GRACE = timedelta(seconds=10)


def enqueue(*, topic: str, payload: dict) -> OutboxMessage:
    """Write an outbox row; call inside the transaction that creates the data it is about."""
    return OutboxMessage.objects.create(topic=topic, payload=payload)


def relay_on_commit(message_ids: Iterable[int]) -> None:
    """Hand these rows to Celery after the current transaction commits."""
    ids = sorted(set(message_ids))
    if ids:
        transaction.on_commit(partial(dispatch, ids))


def dispatch(message_ids: list[int]) -> int:
    """Queue one Celery task per row; a broker failure is logged and left to the sweep."""
    from orders.tasks import process_outbox_message

    sent = []
    for message_id in message_ids:
        try:
            process_outbox_message.delay(message_id)
        except Exception:  # broker down: the sweep retries; never fail the caller
            logger.warning("outbox relay failed", exc_info=True, extra={"outbox_id": message_id})
            continue
        sent.append(message_id)
    if sent:
        OutboxMessage.objects.filter(pk__in=sent).update(dispatched_at=timezone.now(), attempts=F("attempts") + 1)
    return len(sent)


def relay_pending(*, now=None) -> int:
    """Hand over rows never handed over, or handed over long ago and still unprocessed."""
    now = now or timezone.now()
    due = (
        OutboxMessage.objects.filter(processed_at__isnull=True, created_at__lt=now - SWEEP_GRACE)
        .filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=now - REDISPATCH_AFTER))
        .order_by("id")
        .values_list("id", flat=True)[:500]
    )
    return dispatch(list(due))


def process(*, message_id: int) -> str:
    """Run the handler of one row at most once; return "done", "defer" or "skipped"."""
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update().filter(pk=message_id).first()
        if message is None or message.processed_at is not None:
            return "skipped"
        handler = HANDLERS.get(message.topic)
        if handler is None:
            logger.error("outbox topic without handler", extra={"topic": message.topic, "outbox_id": message_id})
            return "skipped"
        outcome = handler(message.payload)
        if outcome == DONE:
            message.processed_at = timezone.now()
            message.save(update_fields=["processed_at"])
        return outcome


def _send(*, template: str, to: list[str], context: dict) -> None:
    subject = render_to_string(f"emails/{template}_subject.txt", context).strip()
    text = render_to_string(f"emails/{template}.txt", context)
    html = render_to_string(f"emails/{template}.html", context)
    mail = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, to)
    mail.attach_alternative(html, "text/html")
    mail.send()


def _load_order(order_id: int) -> Order | None:
    return (
        Order.objects.select_related("shop__owner", "buyer", "checkout")
        .prefetch_related("items")
        .filter(pk=order_id)
        .first()
    )


def notify_seller_of_order(payload: dict) -> str:
    """Email the shop owner about a paid order; drop cancelled ones; wait while payment is pending."""
    order = _load_order(payload["order_id"])
    if order is None or order.status == Order.Status.CANCELLED:
        return DONE
    if order.status == Order.Status.PENDING_PAYMENT:
        return DEFER
    _send(
        template="order_new_seller",
        to=[order.shop.owner.email],
        context={"order": order, "shop": order.shop, "items": list(order.items.all()), "checkout": order.checkout},
    )
    logger.info("seller notified of order", extra={"order_id": order.pk, "shop_id": order.shop_id})
    return DONE


def notify_buyer_of_shipment(payload: dict) -> str:
    """Email the buyer the tracking number of a shipped order."""
    order = _load_order(payload["order_id"])
    if order is None:
        return DONE
    _send(
        template="order_shipped_buyer",
        to=[order.buyer.email],
        context={"order": order, "shop": order.shop, "items": list(order.items.all())},
    )
    return DONE


def refund_cancelled_order(payload: dict) -> str:
    """Refund a cancelled paid order at the provider (idempotent per order; errors retry the task)."""
    from orders import payments

    order = Order.objects.select_related("checkout").filter(pk=payload["order_id"]).first()
    if order is None:
        return DONE
    payments.refund(
        charge_idempotency_key=order.checkout.provider_idempotency_key,
        amount=order.total,
        idempotency_key=f"refund:order:{order.pk}",
    )
    logger.info("order refunded", extra={"order_id": order.pk, "amount": str(order.total)})
    return DONE


HANDLERS: dict[str, Callable[[dict], str]] = {
    TOPIC_ORDER_PLACED: notify_seller_of_order,
    TOPIC_ORDER_SHIPPED: notify_buyer_of_shipment,
    TOPIC_ORDER_REFUND: refund_cancelled_order,
}
