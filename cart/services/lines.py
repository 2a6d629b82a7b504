"""A signed-in buyer's cart lines: add, change quantity, remove (rows, with holds on unique offerings)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from cart.caching import refresh_caches_after_line_change_on_commit, write_cart_through_on_commit
from cart.exceptions import AlreadyInCart, CartLineNotFound
from cart.models import CartItem
from cart.services.availability import _refuse_if_held_by_other, _refuse_if_short, reservation_deadline
from cart.services.choosing import _as_id, _check_quantity, _lock_offering_for_sale
from catalog.models import Offering
from etsy import cache, metrics
from etsy.prepared import prepared_cursor

# RETURNING also sums the buyer's other lines of the offering (other personalisation texts): they share its
# stock; and says whether the line written had a hold before (a hold it clears changes the listing's stock count,
# as one it takes does). The subqueries read the snapshot the statement started from, which the statement's own
# write is not part of.
_UPSERT_LINE_SQL = """
    INSERT INTO {table} (user_id, product_id, offering_id, personalization, quantity, reserved_until, added_at,
                         updated_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT (user_id, offering_id, personalization) DO UPDATE
       SET quantity = {quantity}, reserved_until = EXCLUDED.reserved_until, updated_at = EXCLUDED.updated_at
    RETURNING id, quantity, added_at,
              (SELECT COALESCE(SUM(other.quantity), 0) FROM {table} AS other
                WHERE other.user_id = %s AND other.offering_id = %s AND other.personalization <> %s),
              EXISTS (SELECT 1 FROM {table} AS before
                       WHERE before.user_id = %s AND before.offering_id = %s AND before.personalization = %s
                         AND before.reserved_until IS NOT NULL)
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
    the caches a saved line's receivers refresh are refreshed here, after commit, the same way (the listing's
    stock count only when a hold was taken or cleared: nothing else of it moves with a cart line).
    """
    product = offering.product
    with prepared_cursor() as cursor:
        cursor.execute(
            _ADD_TO_LINE_SQL if add else _SET_LINE_SQL,
            [user.pk, product.pk, offering.pk, personalization, quantity, reserved_until, now, now]
            + [user.pk, offering.pk, personalization] * 2,
        )
        pk, stored_quantity, added_at, others, was_held = cursor.fetchone()
    refresh_caches_after_line_change_on_commit(
        user_id=user.pk, product_id=product.pk, holds_changed=was_held or reserved_until is not None
    )
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
    # The listings' stock counts (holds may have ended) go in the round trip that takes the cart store's version.
    write_cart_through_on_commit(user_id, stale=[cache.inventory_key(pk) for pk in product_ids])
    return deleted


def clear_cart(*, user) -> int:
    """Empty the buyer's cart."""
    deleted, _ = CartItem.objects.filter(user=user).delete()
    return deleted
