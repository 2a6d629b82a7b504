"""Cart writes: signed-in carts (rows, with reservations) and guest carts (session).

A cart line buys an offering (a size and colour of a listing, or a plain listing's implicit
offering) with the buyer's personalisation text; lines are named by their id. A unique offering
(stock 1) added to a signed-in cart is held for the buyer for ``settings.RESERVATION_MINUTES``.
A hold past ``reserved_until`` is no hold: every reader compares with now(), the cleanup task
only deletes dead rows. Adds lock the listing row (``catalog.stock``: the listing's lock covers
its offerings) so two buyers reaching for the same unique offering are serialized and exactly
one gets the hold.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from cart.caching import (
    clear_ended_holds_flag,
    flag_ended_holds_on_commit,
    refresh_caches_after_line_change_on_commit,
    write_cart_through_on_commit,
)
from cart.exceptions import (
    MAX_LINE_QUANTITY,
    AlreadyInCart,
    CartLineNotFound,
    InsufficientStock,
    InvalidQuantity,
    ItemReserved,
)
from cart.models import CartItem, EndedHold
from catalog import selectors as catalog_selectors
from catalog.exceptions import OfferingNotFound, OfferingUnavailable, PersonalizationError, ProductNotFound
from catalog.models import Offering, Product
from catalog.stock import lock_offering_with_listing
from etsy import cache, metrics
from etsy.exceptions import DomainError
from etsy.prepared import prepared_cursor

logger = logging.getLogger(__name__)

GUEST_CART_SESSION_KEY = "guest_cart"


def reservation_deadline(*, now: datetime | None = None) -> datetime:
    """Return when a hold taken now ends."""
    return (now or timezone.now()) + timedelta(minutes=settings.RESERVATION_MINUTES)


def _check_quantity(quantity: Any, *, allow_zero: bool = False) -> int:
    lowest = 0 if allow_zero else 1
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not lowest <= quantity <= MAX_LINE_QUANTITY:
        raise InvalidQuantity(
            f"Quantity must be a whole number from {lowest} to {MAX_LINE_QUANTITY:,}.",
            extra={"min": lowest, "max": MAX_LINE_QUANTITY},
        )
    return quantity


def _as_int(value: Any, error: type[DomainError], **extra) -> int:
    if isinstance(value, bool):
        raise error(extra=extra)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise error(extra=extra) from None


def _choice(*, offering_id: Any, product_id: Any, option_ids: Sequence[Any] | None) -> QuerySet[Offering]:
    """The offerings (at most one) the buyer names: ``offering_id`` (of ``product_id`` when given), else the
    one of the chosen ``option_ids`` (one per variation property), else a plain listing's implicit one."""
    if offering_id is not None:
        offerings = Offering.objects.select_related("option1__variation", "option2__variation").filter(
            pk=_as_int(offering_id, OfferingNotFound, product_id=product_id)
        )
        return offerings if product_id is None else offerings.filter(product_id=_as_id(product_id))
    product_id = _as_int(product_id, ProductNotFound)
    return catalog_selectors.list_offerings_for_choice(product_id=product_id, option_ids=option_ids or ())


def _choice_ids(*, offering_id: Any, product_id: Any) -> dict[str, int | None]:
    """The ids the buyer names, as ``catalog.stock.lock_offering_with_listing`` takes them."""
    if offering_id is not None:
        offering_id = _as_int(offering_id, OfferingNotFound, product_id=product_id)
        return {"offering_id": offering_id, "product_id": None if product_id is None else _as_id(product_id)}
    return {"offering_id": None, "product_id": _as_int(product_id, ProductNotFound)}


def _refuse_choice(*, offering_id: Any, product_id: Any, option_ids: Sequence[Any] | None) -> None:
    """Say why a choice named nothing (the error path only: one more read)."""
    if offering_id is not None:
        raise OfferingNotFound("That choice does not exist for this item.", extra={"product_id": product_id})
    if not Product.objects.filter(pk=_as_id(product_id)).exists():
        raise ProductNotFound()
    if option_ids:
        raise OfferingNotFound(extra={"product_id": _as_id(product_id)})
    raise OfferingNotFound(
        "This item comes in several choices: choose one.",
        extra={"product_id": _as_id(product_id), "needs_offering": True},
    )


def _checked(offering: Offering | None, *, user_id: int | None, **choice) -> Offering:
    """The named offering, if its listing is listed for this buyer and the offering switched on.

    Sold-out offerings pass (the stock check says how many are left). Raises ProductNotFound,
    OfferingNotFound, OfferingUnavailable.
    """
    if offering is None:
        _refuse_choice(**choice)
    if not offering.product.is_listed_for(user_id):  # a custom piece only for the buyer it is reserved for
        raise ProductNotFound()
    return catalog_selectors.check_offering_available(offering, include_sold_out=True)


def _lock_offering_for_sale(
    *, offering_id: Any, product_id: Any, user_id: int | None, option_ids: Sequence[Any] | None = None
) -> Offering:
    """Lock the listing of the named offering and return the offering with the locked listing as
    ``offering.product``, in one statement (``catalog.stock.lock_offering_with_listing``).

    Raises ProductNotFound, OfferingNotFound, OfferingUnavailable (switched off).
    """
    choice = {"offering_id": offering_id, "product_id": product_id, "option_ids": option_ids}
    offering = lock_offering_with_listing(
        **_choice_ids(offering_id=offering_id, product_id=product_id), option_ids=option_ids or ()
    )
    return _checked(offering, user_id=user_id, **choice)


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


# RETURNING also sums the buyer's other lines of the offering (other personalisation texts): they share its
# stock. The subquery reads the snapshot the statement started from, which those lines are not changed by.
_UPSERT_LINE_SQL = """
    INSERT INTO {table} (user_id, product_id, offering_id, personalization, quantity, reserved_until, added_at,
                         updated_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT (user_id, offering_id, personalization) DO UPDATE
       SET quantity = {quantity}, reserved_until = EXCLUDED.reserved_until, updated_at = EXCLUDED.updated_at
    RETURNING id, quantity, added_at,
              (SELECT COALESCE(SUM(other.quantity), 0) FROM {table} AS other
                WHERE other.user_id = %s AND other.offering_id = %s AND other.personalization <> %s)
"""
_SET_LINE_SQL = _UPSERT_LINE_SQL.format(table=CartItem._meta.db_table, quantity="EXCLUDED.quantity")
_ADD_TO_LINE_SQL = _UPSERT_LINE_SQL.format(
    table=CartItem._meta.db_table, quantity=f"{CartItem._meta.db_table}.quantity + EXCLUDED.quantity"
)


def _upsert_line(
    *,
    user,
    offering: Offering,
    personalization: str,
    quantity: int,
    reserved_until: datetime | None,
    now: datetime,
    add: bool = False,
) -> tuple[CartItem, int]:
    """Write the buyer's line in one statement (INSERT ... ON CONFLICT on the (user, offering, text) constraint);
    return it with the units of the buyer's other lines of the offering.

    ``add`` adds ``quantity`` to a line already there instead of replacing it. Sends no model signals, so
    the caches a saved line's receivers refresh are refreshed here, after commit, the same way.
    """
    product = offering.product
    with prepared_cursor() as cursor:
        cursor.execute(
            _ADD_TO_LINE_SQL if add else _SET_LINE_SQL,
            [user.pk, product.pk, offering.pk, personalization, quantity, reserved_until, now, now]
            + [user.pk, offering.pk, personalization],
        )
        pk, stored_quantity, added_at, others = cursor.fetchone()
    refresh_caches_after_line_change_on_commit(user_id=user.pk, product_id=product.pk)
    item = CartItem(
        pk=pk,
        user=user,
        product=product,
        offering=offering,
        personalization=personalization,
        quantity=stored_quantity,
        reserved_until=reserved_until,
        added_at=added_at,
        updated_at=now,
    )
    item._state.adding = False
    item._state.db = connection.alias
    return item, int(others)


def _store_line(*, user, offering: Offering, personalization: str, quantity: int, now: datetime) -> CartItem:
    """Write the buyer's line of a locked listing's offering with ``quantity``, (re)taking the hold of a unique
    offering (quantity 1: the one piece there is)."""
    _refuse_if_short(offering=offering, requested=quantity)
    reserved_until = None
    if offering.is_unique:
        _refuse_if_held_by_other(offering=offering, user_id=user.pk, now=now)
        reserved_until = reservation_deadline(now=now)
    item, others = _upsert_line(
        user=user,
        offering=offering,
        personalization=personalization,
        quantity=quantity,
        reserved_until=reserved_until,
        now=now,
    )
    _refuse_if_short(offering=offering, requested=quantity + others)  # raises: the write rolls back
    if reserved_until is not None:
        metrics.reservations_created.inc()
    return item


@transaction.atomic
def add_item(
    *,
    user,
    offering_id: int | None = None,
    product_id: int | None = None,
    option_ids: Sequence[int] | None = None,
    quantity: int = 1,
    personalization: str | None = "",
) -> CartItem:
    """Add units of an offering to the buyer's cart (merging with its line of the same personalisation text);
    hold a unique offering. ``product_id`` with ``option_ids`` (one per variation property) names an offering
    by the buyer's choices; ``product_id`` alone a listing without variations (its implicit offering).

    Locks the listing row. Raises ProductNotFound, OfferingNotFound (another listing's offering, none named
    for a listing with variations), OfferingUnavailable (switched off), PersonalizationRequired,
    PersonalizationTooLong, PersonalizationNotAccepted, InvalidQuantity, InsufficientStock,
    ItemReserved (extra["reserved_until"]), AlreadyInCart (a unique offering already there).
    """
    quantity = _check_quantity(quantity)
    offering = _lock_offering_for_sale(
        offering_id=offering_id, product_id=product_id, user_id=user.pk, option_ids=option_ids
    )
    text = offering.product.clean_personalization(personalization)
    now = timezone.now()
    if offering.is_unique:
        if CartItem.objects.filter(user=user, offering=offering).exists():
            raise AlreadyInCart(extra={"product_id": offering.product_id, "offering_id": offering.pk})
        return _store_line(user=user, offering=offering, personalization=text, quantity=quantity, now=now)
    # A stocked offering: the line grows in the statement that writes it. The listing's row lock keeps every
    # other add, change and checkout of it out meanwhile; a total past the stock raises and rolls it back.
    _refuse_if_short(offering=offering, requested=quantity)
    item, others = _upsert_line(
        user=user, offering=offering, personalization=text, quantity=quantity, reserved_until=None, now=now, add=True
    )
    # Every line of this offering counts against its stock (two engravings of one size are two lines).
    _refuse_if_short(offering=offering, requested=item.quantity + others)
    return item


def _get_line(*, user, line_id: Any) -> CartItem:
    line = CartItem.objects.filter(user=user, pk=_as_id(line_id)).only("pk", "product_id", "offering_id").first()
    if line is None:
        raise CartLineNotFound()
    return line


@transaction.atomic
def set_quantity(*, user, line_id: int, quantity: int) -> CartItem | None:
    """Set a line's quantity (0 removes it and returns None); re-takes the hold of a unique offering.

    Locks the line's listing. Raises CartLineNotFound, ProductNotFound, OfferingUnavailable, InvalidQuantity,
    InsufficientStock, ItemReserved.
    """
    quantity = _check_quantity(quantity, allow_zero=True)
    line = _get_line(user=user, line_id=line_id)
    if quantity == 0:
        remove_item(user=user, line_id=line.pk)
        return None
    offering = _lock_offering_for_sale(offering_id=line.offering_id, product_id=line.product_id, user_id=user.pk)
    line = CartItem.objects.filter(pk=line.pk).only("pk", "personalization").first()  # under the listing lock
    if line is None:
        raise CartLineNotFound()
    return _store_line(
        user=user, offering=offering, personalization=line.personalization, quantity=quantity, now=timezone.now()
    )


def remove_item(*, user, line_id: int) -> None:
    """Remove a line from the buyer's cart (releasing its hold); missing lines are ignored."""
    CartItem.objects.filter(user=user, pk=_as_id(line_id)).delete()


def remove_items(*, user, product_ids) -> int:
    """Remove every line of these listings from the buyer's cart; return how many lines went."""
    ids = []
    for value in product_ids:
        try:
            ids.append(int(value))
        except (TypeError, ValueError):
            continue
    if not ids:
        return 0
    deleted, _ = CartItem.objects.filter(user=user, product_id__in=ids).delete()
    return deleted


def remove_lines(*, user, line_ids) -> int:
    """Remove these lines from the buyer's cart (releasing their holds); return how many went."""
    ids = [_as_id(value) for value in line_ids]
    if not ids:
        return 0
    deleted, _ = CartItem.objects.filter(user=user, pk__in=ids).delete()
    return deleted


_REMOVE_LINES_SQL = f"DELETE FROM {CartItem._meta.db_table} WHERE user_id = %s AND id = ANY(%s::bigint[])"


def remove_lines_by_id(*, user_id: int, line_ids: list[int], product_ids: list[int]) -> int:
    """Delete these lines of the buyer's cart in one statement (checkout, under its locks); return how many.

    Sends no model signals: the buyer's cart and the products' stock counts are refreshed after commit here.
    """
    if not line_ids:
        return 0
    with prepared_cursor() as cursor:  # a constant statement, planned once per connection (etsy.prepared)
        cursor.execute(_REMOVE_LINES_SQL, [user_id, list(line_ids)])
        deleted = cursor.rowcount
    write_cart_through_on_commit(user_id)
    keys = [cache.inventory_key(pk) for pk in product_ids]
    transaction.on_commit(partial(cache.delete, *keys))
    return deleted


def clear_cart(*, user) -> int:
    """Empty the buyer's cart."""
    deleted, _ = CartItem.objects.filter(user=user).delete()
    return deleted


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


def _as_id(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


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
