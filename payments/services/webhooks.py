"""Provider webhooks: each event id processed once, driving the same state changes as the resolver."""

from __future__ import annotations

import logging
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum

from etsy import metrics
from orders.models import Checkout
from orders.services import checkout as checkout_service
from payments.models import LedgerEntry, WebhookEvent
from payments.services import ledger

logger = logging.getLogger(__name__)

PaymentStatus = Checkout.PaymentStatus
CENT = Decimal("0.01")


def handle_stripe_event(*, event_id: str, event_type: str, obj: dict) -> str:
    """Apply one verified Stripe event once; return its outcome ("duplicate" for a replay).

    The event row and its effect commit together: a failure leaves neither, and Stripe retries.
    """
    try:
        with transaction.atomic():
            WebhookEvent.objects.create(event_id=event_id, type=event_type, object_id=str(obj.get("id", ""))[:255])
            outcome = _apply(event_type=event_type, obj=obj)
            WebhookEvent.objects.filter(event_id=event_id).update(outcome=outcome)
    except IntegrityError:
        if not WebhookEvent.objects.filter(event_id=event_id).exists():
            raise
        outcome = "duplicate"
    metrics.webhook_events.labels(type=event_type, outcome=outcome).inc()
    logger.info("webhook processed", extra={"event": "webhook_processed", "type": event_type, "outcome": outcome})
    return outcome


def _apply(*, event_type: str, obj: dict) -> str:
    if event_type in ("payment_intent.succeeded", "payment_intent.payment_failed"):
        return _payment_intent_event(event_type=event_type, intent=obj)
    if event_type == "charge.refunded":
        return _charge_refunded(charge=obj)
    if event_type == "charge.dispute.created":
        return _dispute_created(dispute=obj)
    if event_type == "charge.dispute.closed":
        return _dispute_closed(dispute=obj)
    return "ignored"


def _payment_intent_event(*, event_type: str, intent: dict) -> str:
    checkout = Checkout.objects.filter(provider_payment_id=intent.get("id") or "-").first()
    if checkout is None:
        return "unknown_payment"
    if event_type == "payment_intent.payment_failed":
        cancelled = checkout_service.cancel_checkout(checkout_id=checkout.pk, status=PaymentStatus.DECLINED)
        return "declined" if cancelled else "already_settled"
    if (
        intent.get("amount") != int(checkout.total * 100)
        or str(intent.get("currency", "")).upper() != checkout.currency
    ):
        metrics.payment_books_mismatches.labels(kind="payment_amount").inc()
        logger.error(
            "payment amount disagrees with the checkout",
            extra={
                "event": "payment_amount_mismatch",
                "checkout_id": str(checkout.pk),
                "provider_amount": intent.get("amount"),
                "total": str(checkout.total),
            },
        )
        return "amount_mismatch"
    latest = intent.get("latest_charge") or ""
    charge_id = latest if isinstance(latest, str) else latest.get("id", "")
    paid = checkout_service.mark_checkout_paid(checkout_id=checkout.pk, charge_id=charge_id)
    if paid:
        return "paid"
    if checkout.payment_status != PaymentStatus.PAID:
        # Money taken for a checkout we had given up (cancelled or declined): never silently accepted.
        metrics.payment_books_mismatches.labels(kind="payment_for_settled_checkout").inc()
        logger.error(
            "payment succeeded for a checkout that is not paid",
            extra={
                "event": "payment_for_settled_checkout",
                "checkout_id": str(checkout.pk),
                "payment_status": checkout.payment_status,
            },
        )
        return "payment_for_settled_checkout"
    return "already_settled"


def _charge_refunded(*, charge: dict) -> str:
    """Compare the provider's refunded total with the refunds in our books (booked before the provider is asked)."""
    checkout = (
        Checkout.objects.filter(provider_payment_id=charge.get("payment_intent") or "-").first()
        or Checkout.objects.filter(provider_charge_id=charge.get("id") or "-").first()
    )
    if checkout is None:
        return "unknown_payment"
    booked = -(
        LedgerEntry.objects.filter(order__checkout_id=checkout.pk, kind=LedgerEntry.Kind.REFUND).aggregate(
            s=Sum("amount")
        )["s"]
        or Decimal("0.00")
    )
    refunded = Decimal(int(charge.get("amount_refunded") or 0)) / 100
    if refunded > booked:
        metrics.payment_books_mismatches.labels(kind="refund_amount").inc()
        logger.error(
            "provider refunded more than our books hold",
            extra={
                "event": "refund_amount_mismatch",
                "checkout_id": str(checkout.pk),
                "provider_refunded": str(refunded),
                "booked": str(booked),
            },
        )
        return "refund_mismatch"
    return "recorded"


def _dispute_created(*, dispute: dict) -> str:
    """Hold the disputed amount in the shops' ledgers, split over the checkout's orders by their totals."""
    checkout = Checkout.objects.filter(provider_charge_id=dispute.get("charge") or "-").first()
    if checkout is None:
        return "unknown_payment"
    orders = list(checkout.orders.filter(ledger_entries__kind=LedgerEntry.Kind.SALE).distinct().order_by("pk"))
    disputed = Decimal(int(dispute.get("amount") or 0)) / 100
    if not orders or disputed <= 0:
        return "recorded"
    left = disputed
    for index, order in enumerate(orders):
        share = left if index == len(orders) - 1 else (disputed * order.total / checkout.total).quantize(CENT)
        left -= share
        if share:
            ledger.append(
                shop_id=order.shop_id,
                order_id=order.pk,
                kind=LedgerEntry.Kind.DISPUTE,
                amount=-share,
                key=f"dispute:{dispute.get('id')}:hold:{order.pk}",
                reference=str(dispute.get("id", "")),
            )
    return "held"


def _dispute_closed(*, dispute: dict) -> str:
    """A won dispute releases exactly what was held; a lost one keeps the hold (the money went back)."""
    holds = LedgerEntry.objects.filter(
        kind=LedgerEntry.Kind.DISPUTE, key__startswith=f"dispute:{dispute.get('id')}:hold:"
    )
    if dispute.get("status") != "won":
        return "lost" if holds.exists() else "recorded"
    for hold in holds:
        ledger.append(
            shop_id=hold.shop_id,
            order_id=hold.order_id,
            kind=LedgerEntry.Kind.DISPUTE,
            amount=-hold.amount,
            key=f"dispute:{dispute.get('id')}:release:{hold.order_id}",
            reference=hold.reference,
        )
    return "released"
