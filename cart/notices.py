"""Lines that leave a buyer's cart on their own, and telling the buyer once (cart page and cart API).

Two things take a line out without the buyer: its 15-minute hold runs out (``services.delete_expired_reservations``),
or the shop stops offering the option it was for (a seller's variation edit deletes the offering and the line
cascades; ``cart.receivers``). Each is remembered as an ``EndedHold`` with its reason, and Redis holds a flag per
buyer so a cart without notices costs no query.
"""

from __future__ import annotations

from django.utils import timezone

from cart import selectors
from cart.caching import flag_ended_holds_on_commit, has_ended_holds
from cart.models import EndedHold
from cart.selectors import EndedHoldNotice
from cart.services import forget_ended_holds


def remember_line_of_removed_option(*, user_id: int, product_id: int) -> None:
    """Remember that the buyer's line left the cart because the shop removed its option; flag the cart page."""
    EndedHold.objects.bulk_create(
        [
            EndedHold(
                user_id=user_id, product_id=product_id, ended_at=timezone.now(), reason=EndedHold.Reason.OPTION_REMOVED
            )
        ],
        update_conflicts=True,
        unique_fields=["user", "product"],
        update_fields=["ended_at", "reason"],
    )
    flag_ended_holds_on_commit([user_id])


def take_cart_notices(*, user, flagged: bool | None = None) -> list[EndedHoldNotice]:
    """Return the buyer's notices and forget them (told once, like a message).

    ``flagged`` is Redis's flag when the caller read it with its own keys (the cart page); else it is read here.
    """
    if not (has_ended_holds(user_id=user.pk) if flagged is None else flagged):
        return []
    notices = selectors.list_ended_holds(user=user)
    forget_ended_holds(user=user, product_ids=[notice.product.pk for notice in notices])
    return notices
