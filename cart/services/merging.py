"""Moving a guest cart into the buyer's account cart at login."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from cart.exceptions import InsufficientStock, ItemReserved
from cart.models import CartItem
from cart.services.availability import _refuse_if_short
from cart.services.choosing import _lock_offering_for_sale
from cart.services.guest import GUEST_CART_SESSION_KEY, _with_offerings, get_guest_lines
from cart.services.lines import _store_line
from catalog.exceptions import OfferingNotFound, OfferingUnavailable, PersonalizationError, ProductNotFound

# The log channel of the cart's services before they became a package (log filters name it).
logger = logging.getLogger("cart.services")


def merge_guest_cart(*, user, session) -> list[dict[str, Any]]:
    """Move the guest cart into the buyer's account cart (at login) and empty it.

    Quantities add up per offering and text, capped at the offering's stock; unique offerings get the
    buyer's hold. Lines that cannot move (gone, switched off, held by someone else) are dropped and returned
    as [{"product_id", "code", "message"}] so the caller can tell the buyer.
    """
    lines = _with_offerings(get_guest_lines(session=session))
    if not lines:
        session.pop(GUEST_CART_SESSION_KEY, None)
        return []
    skipped: list[dict[str, Any]] = []
    for line in sorted(lines, key=lambda ln: (ln.product_id, ln.offering_id or 0, ln.id)):
        try:
            with transaction.atomic():
                offering = _lock_offering_for_sale(
                    offering_id=line.offering_id, product_id=line.product_id, user_id=user.pk
                )
                text = offering.product.clean_personalization(line.personalization)
                in_cart = dict(
                    CartItem.objects.filter(user=user, offering=offering).values_list("personalization", "quantity")
                )
                if offering.is_unique and in_cart and text not in in_cart:
                    continue  # the one piece is in the account's cart already
                wanted = line.quantity + in_cart.get(text, 0)
                room = max(offering.quantity - sum(q for t, q in in_cart.items() if t != text), 0)
                capped = min(wanted, room)
                if capped < 1:
                    _refuse_if_short(offering=offering, requested=wanted)
                _store_line(user=user, offering=offering, personalization=text, quantity=capped, now=timezone.now())
        except (
            ProductNotFound,
            OfferingNotFound,
            OfferingUnavailable,
            PersonalizationError,
            InsufficientStock,
            ItemReserved,
        ) as exc:
            skipped.append({"product_id": line.product_id, "code": exc.code, "message": exc.message})
    session.pop(GUEST_CART_SESSION_KEY, None)
    session.modified = True
    if skipped:
        logger.info("guest cart merged with skipped lines", extra={"user_id": user.pk, "skipped": len(skipped)})
    return skipped
