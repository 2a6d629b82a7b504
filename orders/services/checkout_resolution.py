"""Checkout: settle a charge by the provider's answer, now or later (unsettled checkouts, 3-D Secure)."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from orders import payments
from orders.exceptions import (
    PaymentDeclined,
)
from orders.models import Checkout
from orders.services.checkout_cancellation import cancel_checkout
from orders.services.checkout_outcome import UNSETTLED, PaymentStatus, mark_checkout_paid


def _settle(
    *, checkout_id, charge: payments.Charge, restore_cart: bool, placed_messages: dict[int, int] | None = None
) -> str:
    if charge.status == payments.ChargeStatus.SUCCEEDED:
        mark_checkout_paid(checkout_id=checkout_id, charge_id=charge.id, placed_messages=placed_messages)
        return PaymentStatus.PAID
    if charge.status == payments.ChargeStatus.DECLINED:
        cancel_checkout(checkout_id=checkout_id, status=PaymentStatus.DECLINED, restore_cart=restore_cart)
        raise PaymentDeclined(extra={"checkout_id": str(checkout_id), "decline_code": charge.decline_code})
    if charge.status == payments.ChargeStatus.REQUIRES_ACTION:
        Checkout.objects.filter(
            pk=checkout_id, payment_status__in=[PaymentStatus.PENDING, PaymentStatus.UNKNOWN]
        ).update(payment_status=PaymentStatus.REQUIRES_ACTION, updated_at=timezone.now())
        return PaymentStatus.REQUIRES_ACTION
    Checkout.objects.filter(pk=checkout_id, payment_status=PaymentStatus.PENDING).update(
        payment_status=PaymentStatus.UNKNOWN
    )
    return PaymentStatus.UNKNOWN


def resolve_checkout_payment(*, checkout_id) -> str:
    """Ask the provider about an unsettled checkout's charge and settle it; return the resulting status.

    Charges the provider never received are cancelled once older than
    ``settings.PAYMENT_ABANDON_AFTER_SECONDS`` (default 15 minutes).
    """
    checkout = Checkout.objects.filter(pk=checkout_id).first()
    if checkout is None or checkout.payment_status not in UNSETTLED:
        return checkout.payment_status if checkout else "missing"
    try:
        charge = payments.retrieve(
            payment_id=checkout.provider_payment_id, idempotency_key=checkout.provider_idempotency_key
        )
    except (payments.PaymentError, payments.PaymentsOpenCircuit):
        return checkout.payment_status
    abandon_after = timedelta(seconds=getattr(settings, "PAYMENT_ABANDON_AFTER_SECONDS", 15 * 60))
    # Never received, or never authenticated by the buyer (3-D Secure): given up after a while.
    if charge is None or charge.status == payments.ChargeStatus.REQUIRES_ACTION:
        if checkout.created_at < timezone.now() - abandon_after:
            if charge is not None:
                # Cancel at the provider first: a buyer authenticating later must not pay for cancelled orders.
                try:
                    charge = payments.cancel_payment(
                        payment_id=checkout.provider_payment_id, idempotency_key=checkout.provider_idempotency_key
                    )
                except (payments.PaymentError, payments.PaymentsOpenCircuit):
                    return checkout.payment_status  # asked again at the next run
                if charge.status == payments.ChargeStatus.SUCCEEDED:  # authenticated just in time
                    return _settle(checkout_id=checkout.pk, charge=charge, restore_cart=False)
            cancel_checkout(checkout_id=checkout.pk, status=PaymentStatus.CANCELLED)
            return PaymentStatus.CANCELLED
        if charge is None:
            return checkout.payment_status
    try:
        return _settle(checkout_id=checkout.pk, charge=charge, restore_cart=False)
    except PaymentDeclined:
        return PaymentStatus.DECLINED


def get_payment_for_authentication(*, buyer, checkout_id) -> payments.Charge | None:
    """Return the buyer's checkout payment waiting for 3-D Secure (with its client secret), else None."""
    checkout = Checkout.objects.filter(
        pk=checkout_id, buyer=buyer, payment_status=PaymentStatus.REQUIRES_ACTION
    ).first()
    if checkout is None:
        return None
    try:
        charge = payments.retrieve(
            payment_id=checkout.provider_payment_id, idempotency_key=checkout.provider_idempotency_key
        )
    except (payments.PaymentError, payments.PaymentsOpenCircuit):
        return None
    return charge if charge is not None and charge.status == payments.ChargeStatus.REQUIRES_ACTION else None


def finish_authenticated_checkout(*, buyer, checkout_id, test_authenticate: bool = False) -> str:
    """Settle a buyer's checkout after 3-D Secure (Stripe.js returned, or the test provider's button).

    ``test_authenticate`` plays the buyer passing the test provider's challenge (only that provider has it).
    Returns the checkout's payment status; the webhook or the resolver settles it if the provider is late.
    """
    checkout = Checkout.objects.filter(pk=checkout_id, buyer=buyer).first()
    if checkout is None:
        return "missing"
    provider = payments.get_provider()
    if test_authenticate and hasattr(provider, "authenticate"):
        provider.authenticate(idempotency_key=checkout.provider_idempotency_key)
    return resolve_checkout_payment(checkout_id=checkout.pk)


def resolve_unsettled_checkouts(*, now=None) -> dict[str, int]:
    """Settle every checkout left pending or unknown past the payment timeout (beat, every minute)."""
    now = now or timezone.now()
    grace = timedelta(seconds=settings.PAYMENT_TIMEOUT_SECONDS * 2 + 10)
    ids = list(
        Checkout.objects.filter(payment_status__in=UNSETTLED, created_at__lt=now - grace)
        .order_by("created_at")
        .values_list("pk", flat=True)[:200]
    )
    outcomes: dict[str, int] = defaultdict(int)
    for checkout_id in ids:
        outcomes[resolve_checkout_payment(checkout_id=checkout_id)] += 1
    return dict(outcomes)
