"""Guest carts, kept in the session: read, add, change quantity, remove."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from django.utils import timezone

from cart.exceptions import AlreadyInCart, CartLineNotFound
from cart.services.availability import _refuse_if_held_by_other, _refuse_if_short
from cart.services.choosing import _as_id, _check_quantity, _checked, _choice
from catalog.models import Offering

GUEST_CART_SESSION_KEY = "guest_cart"


# --- Guest carts (session) ----------------------------------------------------
# A guest cart is {"lines": [{"id", "product", "offering", "text", "quantity"}], "next": id} in the
# session: lines keyed by offering and personalisation text, as a signed-in cart's rows, with ids of their
# own so that the page's buttons name one line. Guests hold nothing (a hold needs an account), but they
# cannot add an offering another buyer holds. A second add of a one-of-a-kind offering already in the cart
# says so (AlreadyInCart), for guests and signed-in buyers alike, rather than "not enough in stock".


class GuestLine(NamedTuple):
    id: int
    product_id: int
    offering_id: int | None  # None: a line stored before offerings (the listing's implicit offering)
    personalization: str
    quantity: int


def get_guest_lines(*, session) -> list[GuestLine]:
    """Return the guest cart's lines in the order they were added, skipping malformed entries."""
    raw = session.get(GUEST_CART_SESSION_KEY) or {}
    if not isinstance(raw, dict):
        return []
    if "lines" not in raw:  # stored before offerings: {"<product id>": quantity}
        lines = []
        for number, (key, value) in enumerate(raw.items(), start=1):
            try:
                product_id, quantity = int(key), int(value)
            except (TypeError, ValueError):
                continue
            if quantity > 0:
                lines.append(GuestLine(number, product_id, None, "", quantity))
        return lines
    lines = []
    for entry in raw.get("lines") or []:
        try:
            line = GuestLine(
                int(entry["id"]),
                int(entry["product"]),
                int(entry["offering"]) if entry.get("offering") is not None else None,
                str(entry.get("text") or ""),
                int(entry["quantity"]),
            )
        except (TypeError, ValueError, KeyError):
            continue
        if line.quantity > 0:
            lines.append(line)
    return lines


def _save_guest_lines(session, lines: list[GuestLine]) -> None:
    next_id = _next_guest_line_id(session, lines)
    session[GUEST_CART_SESSION_KEY] = {
        "lines": [
            {
                "id": ln.id,
                "product": ln.product_id,
                "offering": ln.offering_id,
                "text": ln.personalization,
                "quantity": ln.quantity,
            }
            for ln in lines
        ],
        "next": next_id,
    }
    session.modified = True


def _next_guest_line_id(session, lines: list[GuestLine]) -> int:
    raw = session.get(GUEST_CART_SESSION_KEY) or {}
    stored_next = _as_id(raw.get("next")) if isinstance(raw, dict) else -1
    return max([stored_next, 1] + [line.id + 1 for line in lines])


def _guest_offering(*, offering_id: Any, product_id: Any, option_ids: Sequence[Any] | None = None) -> Offering:
    """The listing's offering a guest names, read without locks (nothing is held for a guest)."""
    choice = {"offering_id": offering_id, "product_id": product_id, "option_ids": option_ids}
    return _checked(_choice(**choice).select_related("product__shop").first(), user_id=None, **choice)


def _check_guest_line(*, offering: Offering, quantity: int) -> None:
    _refuse_if_short(offering=offering, requested=quantity)
    if offering.is_unique:
        _refuse_if_held_by_other(offering=offering, user_id=None, now=timezone.now())


def add_guest_item(
    *,
    session,
    offering_id: int | None = None,
    product_id: int | None = None,
    option_ids: Sequence[int] | None = None,
    quantity: int = 1,
    personalization: str | None = "",
) -> GuestLine:
    """Add units of an offering to the guest cart (merging with its line of the same text); return the line.

    Raises ProductNotFound, OfferingNotFound, OfferingUnavailable, PersonalizationRequired,
    PersonalizationTooLong, PersonalizationNotAccepted, InvalidQuantity, InsufficientStock, ItemReserved,
    AlreadyInCart.
    """
    quantity = _check_quantity(quantity)
    offering = _guest_offering(offering_id=offering_id, product_id=product_id, option_ids=option_ids)
    text = offering.product.clean_personalization(personalization)
    lines = _with_offerings(get_guest_lines(session=session))
    same = [ln for ln in lines if ln.offering_id == offering.pk]
    if same and offering.is_unique:
        raise AlreadyInCart(extra={"product_id": offering.product_id, "offering_id": offering.pk})
    _check_guest_line(offering=offering, quantity=quantity + sum(ln.quantity for ln in same))
    existing = next((ln for ln in same if ln.personalization == text), None)
    if existing is not None:
        line = existing._replace(quantity=existing.quantity + quantity)
        lines = [line if ln.id == existing.id else ln for ln in lines]
    else:
        line = GuestLine(_next_guest_line_id(session, lines), offering.product_id, offering.pk, text, quantity)
        lines.append(line)
    _save_guest_lines(session, lines)
    return line


def set_guest_quantity(*, session, line_id: int, quantity: int) -> int:
    """Set a guest line's quantity (0 removes it); return the new quantity. Raises CartLineNotFound,
    OfferingNotFound, OfferingUnavailable, InvalidQuantity, InsufficientStock, ItemReserved."""
    quantity = _check_quantity(quantity, allow_zero=True)
    lines = _with_offerings(get_guest_lines(session=session))
    line = next((ln for ln in lines if ln.id == _as_id(line_id)), None)
    if line is None:
        raise CartLineNotFound()
    if quantity == 0:
        remove_guest_item(session=session, line_id=line.id)
        return 0
    offering = _guest_offering(offering_id=line.offering_id, product_id=line.product_id)
    others = sum(ln.quantity for ln in lines if ln.offering_id == offering.pk and ln.id != line.id)
    _check_guest_line(offering=offering, quantity=quantity + others)
    _save_guest_lines(session, [ln._replace(quantity=quantity) if ln.id == line.id else ln for ln in lines])
    return quantity


def remove_guest_item(*, session, line_id: int) -> None:
    """Remove a line from the guest cart; missing lines are ignored."""
    lines = get_guest_lines(session=session)
    kept = [ln for ln in lines if ln.id != _as_id(line_id)]
    if len(kept) != len(lines):
        _save_guest_lines(session, kept)


def _with_offerings(lines: list[GuestLine]) -> list[GuestLine]:
    """Point lines stored before offerings at their listing's implicit offering (one query, only when needed)."""
    missing = [ln.product_id for ln in lines if ln.offering_id is None]
    if not missing:
        return lines
    implicit = dict(
        Offering.objects.filter(product_id__in=missing, option1__isnull=True, option2__isnull=True).values_list(
            "product_id", "pk"
        )
    )
    return [
        ln._replace(offering_id=implicit.get(ln.product_id)) if ln.offering_id is None else ln
        for ln in lines
        if ln.offering_id is not None or ln.product_id in implicit
    ]
