"""Ending holds: the cleanup of expired lines and the notices that tell buyers which item left their cart."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from cart.caching import clear_ended_holds_flag, flag_ended_holds_on_commit
from cart.models import CartItem, EndedHold

ENDED_HOLD_NOTICE_DAYS = 7  # an ended hold not seen within a week is not worth telling any more


@transaction.atomic
def delete_expired_reservations(*, now: datetime | None = None) -> int:
    """Delete cart lines whose hold has ended; return how many went.

    Readers already ignore such holds; each line taken out is remembered (``EndedHold``) so the
    buyer's cart page can say which item left it and offer it again. Old notices are pruned.
    """
    now = now or timezone.now()
    expired = list(
        CartItem.objects.filter(reserved_until__isnull=False, reserved_until__lt=now).values_list(
            "pk", "user_id", "product_id", "reserved_until"
        )
    )
    EndedHold.objects.filter(ended_at__lt=now - timedelta(days=ENDED_HOLD_NOTICE_DAYS)).delete()
    if not expired:
        return 0
    # A line whose hold was renewed since the read above keeps it: delete only what is still expired.
    ids = {row[0] for row in expired}
    deleted, _ = CartItem.objects.filter(pk__in=ids, reserved_until__lt=now).delete()
    gone = ids - set(CartItem.objects.filter(pk__in=ids).values_list("pk", flat=True))
    EndedHold.objects.bulk_create(
        [
            EndedHold(user_id=user_id, product_id=product_id, ended_at=until)
            for pk, user_id, product_id, until in expired
            if pk in gone
        ],
        update_conflicts=True,
        unique_fields=["user", "product"],
        update_fields=["ended_at", "reason"],
    )
    flag_ended_holds_on_commit(user_id for pk, user_id, _, _ in expired if pk in gone)
    return deleted


def forget_ended_holds(*, user, product_ids) -> int:
    """Drop the buyer's ended-hold notices for these products (the buyer was told)."""
    deleted, _ = EndedHold.objects.filter(user=user, product_id__in=list(product_ids)).delete()
    clear_ended_holds_flag(user_id=user.pk)
    return deleted
