"""Whether a buyer may have units of an offering: its stock, and holds of other buyers; when a hold ends."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from cart.exceptions import InsufficientStock, ItemReserved
from cart.models import CartItem
from catalog.models import Offering
from etsy import metrics


def reservation_deadline(*, now: datetime | None = None) -> datetime:
    """Return when a hold taken now ends."""
    return (now or timezone.now()) + timedelta(minutes=settings.RESERVATION_MINUTES)


def _active_hold_by_other(*, offering_id: int, user_id: int | None, now: datetime) -> CartItem | None:
    holds = CartItem.objects.filter(offering_id=offering_id, reserved_until__gt=now)
    if user_id is not None:
        holds = holds.exclude(user_id=user_id)
    return holds.order_by("-reserved_until").first()


def _refuse_if_held_by_other(*, offering: Offering, user_id: int | None, now: datetime) -> None:
    hold = _active_hold_by_other(offering_id=offering.pk, user_id=user_id, now=now)
    if hold is not None:
        metrics.inventory_conflicts.inc()
        raise ItemReserved(
            extra={
                "product_id": offering.product_id,
                "offering_id": offering.pk,
                "reserved_until": hold.reserved_until.isoformat(),
            },
        )


def _refuse_if_short(*, offering: Offering, requested: int) -> None:
    if requested > offering.quantity:
        metrics.inventory_conflicts.inc()
        raise InsufficientStock(
            extra={
                "product_id": offering.product_id,
                "offering_id": offering.pk,
                "available": max(offering.quantity, 0),
                "requested": requested,
            },
        )
