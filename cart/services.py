"""Cart writes: signed-in carts (rows, with reservations) and guest carts (session).

A unique item (stock 1) added to a signed-in cart is held for the buyer for
``settings.RESERVATION_MINUTES``. A hold past ``reserved_until`` is no hold: every
reader compares with now(), the cleanup task only deletes dead rows.
Adds lock the product row (``catalog.stock.lock_products``) so two buyers
reaching for the same unique item are serialized and exactly one gets the hold.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from cart.caching import (
    clear_ended_holds_flag,
    flag_ended_holds_on_commit,
    refresh_caches_after_line_change_on_commit,
    write_cart_through_on_commit,
)
from cart.exceptions import MAX_LINE_QUANTITY, AlreadyInCart, InsufficientStock, InvalidQuantity, ItemReserved
from cart.models import CartItem, EndedHold
from catalog.exceptions import ProductNotFound
from catalog.models import Product
from catalog.stock import lock_products
from etsy import cache, metrics

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


def _lock_purchasable_product(product_id: Any, *, user_id: int | None = None) -> Product:
    try:
        product_id = int(product_id)
    except (TypeError, ValueError):
        raise ProductNotFound() from None
    product = lock_products(product_ids=[product_id]).get(product_id)
    if product is None or not product.is_listed_for(user_id):  # a custom piece only for the buyer it is reserved for
        raise ProductNotFound()
    return product


def _active_hold_by_other(*, product_id: int, user_id: int | None, now: datetime) -> CartItem | None:
    holds = CartItem.objects.filter(product_id=product_id, reserved_until__gt=now)
    if user_id is not None:
        holds = holds.exclude(user_id=user_id)
    return holds.order_by("-reserved_until").first()


def _refuse_if_held_by_other(*, product: Product, user_id: int | None, now: datetime) -> None:
    hold = _active_hold_by_other(product_id=product.pk, user_id=user_id, now=now)
    if hold is not None:
        metrics.inventory_conflicts.inc()
        raise ItemReserved(
            extra={"product_id": product.pk, "reserved_until": hold.reserved_until.isoformat()},
        )


def _refuse_if_short(*, product: Product, requested: int) -> None:
    if requested > product.quantity:
        metrics.inventory_conflicts.inc()
        raise InsufficientStock(
            extra={"product_id": product.pk, "available": max(product.quantity, 0), "requested": requested},
        )


_UPSERT_LINE_SQL = """
    INSERT INTO {table} (user_id, product_id, quantity, reserved_until, added_at, updated_at)
    VALUES (%s, %s, %s, %s, %s, %s)
    ON CONFLICT (user_id, product_id) DO UPDATE
       SET quantity = {quantity}, reserved_until = EXCLUDED.reserved_until, updated_at = EXCLUDED.updated_at
    RETURNING id, quantity, added_at
"""
_SET_LINE_SQL = _UPSERT_LINE_SQL.format(table=CartItem._meta.db_table, quantity="EXCLUDED.quantity")
_ADD_TO_LINE_SQL = _UPSERT_LINE_SQL.format(
    table=CartItem._meta.db_table, quantity=f"{CartItem._meta.db_table}.quantity + EXCLUDED.quantity"
)


def _upsert_line(
    *, user, product: Product, quantity: int, reserved_until: datetime | None, now: datetime, add: bool = False
) -> CartItem:
    """Write the buyer's line in one statement (INSERT ... ON CONFLICT on the (user, product) constraint).

    ``add`` adds ``quantity`` to a line already there instead of replacing it. Sends no model signals, so
    the caches a saved line's receivers refresh are refreshed here, after commit, the same way.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            _ADD_TO_LINE_SQL if add else _SET_LINE_SQL, [user.pk, product.pk, quantity, reserved_until, now, now]
        )
        pk, stored_quantity, added_at = cursor.fetchone()
    refresh_caches_after_line_change_on_commit(user_id=user.pk, product_id=product.pk)
    item = CartItem(
        pk=pk,
        user=user,
        product=product,
        quantity=stored_quantity,
        reserved_until=reserved_until,
        added_at=added_at,
        updated_at=now,
    )
    item._state.adding = False
    item._state.db = connection.alias
    return item


def _store_line(*, user, product: Product, quantity: int, now: datetime) -> CartItem:
    """Write the buyer's line for a locked product with ``quantity``, (re)taking the hold for unique items."""
    _refuse_if_short(product=product, requested=quantity)
    reserved_until = None
    if product.is_unique:
        _refuse_if_held_by_other(product=product, user_id=user.pk, now=now)
        reserved_until = reservation_deadline(now=now)
    item = _upsert_line(user=user, product=product, quantity=quantity, reserved_until=reserved_until, now=now)
    if reserved_until is not None:
        metrics.reservations_created.inc()
    return item


@transaction.atomic
def add_item(*, user, product_id: int, quantity: int = 1) -> CartItem:
    """Add units to the buyer's cart (merging with a line already there); hold unique items.

    Locks the product row. Raises ProductNotFound, InvalidQuantity, InsufficientStock,
    ItemReserved (extra["reserved_until"]), AlreadyInCart (a unique item already there).
    """
    quantity = _check_quantity(quantity)
    product = _lock_purchasable_product(product_id, user_id=user.pk)
    now = timezone.now()
    if product.is_unique:
        if CartItem.objects.filter(user=user, product=product).exists():
            raise AlreadyInCart(extra={"product_id": product.pk})
        return _store_line(user=user, product=product, quantity=quantity, now=now)
    # A stocked item: the line grows in the statement that writes it. The product's row lock keeps every
    # other add, change and checkout of it out meanwhile; a total past the stock raises and rolls it back.
    _refuse_if_short(product=product, requested=quantity)
    item = _upsert_line(user=user, product=product, quantity=quantity, reserved_until=None, now=now, add=True)
    _refuse_if_short(product=product, requested=item.quantity)
    return item


@transaction.atomic
def set_quantity(*, user, product_id: int, quantity: int) -> CartItem | None:
    """Set a line's quantity (0 removes it and returns None); re-takes the hold of a unique item.

    Raises ProductNotFound, InvalidQuantity, InsufficientStock, ItemReserved.
    """
    quantity = _check_quantity(quantity, allow_zero=True)
    if quantity == 0:
        remove_item(user=user, product_id=product_id)
        return None
    product = _lock_purchasable_product(product_id, user_id=user.pk)
    return _store_line(user=user, product=product, quantity=quantity, now=timezone.now())


def remove_item(*, user, product_id: int) -> None:
    """Remove a product from the buyer's cart (releasing its hold); missing lines are ignored."""
    remove_items(user=user, product_ids=[product_id])


def remove_items(*, user, product_ids) -> int:
    """Remove several products from the buyer's cart; return how many lines went."""
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


def remove_lines_by_id(*, user_id: int, line_ids: list[int], product_ids: list[int]) -> int:
    """Delete these lines of the buyer's cart in one statement (checkout, under its locks); return how many.

    Sends no model signals: the buyer's cart and the products' stock counts are refreshed after commit here.
    """
    if not line_ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {CartItem._meta.db_table} WHERE user_id = %s AND id = ANY(%s)", [user_id, list(line_ids)]
        )
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
# A guest cart is {"<product id>": quantity} in the session. Guests hold nothing
# (a hold needs an account), but they cannot add an item another buyer holds. A second
# add of a one-of-a-kind item already in the cart says so (AlreadyInCart), for guests
# and signed-in buyers alike, rather than "not enough in stock".


def get_guest_lines(*, session) -> dict[int, int]:
    """Return the guest cart as {product_id: quantity}, skipping malformed entries."""
    raw = session.get(GUEST_CART_SESSION_KEY) or {}
    lines: dict[int, int] = {}
    if not isinstance(raw, dict):
        return lines
    for key, value in raw.items():
        try:
            product_id, quantity = int(key), int(value)
        except (TypeError, ValueError):
            continue
        if quantity > 0:
            lines[product_id] = quantity
    return lines


def _save_guest_lines(session, lines: dict[int, int]) -> None:
    session[GUEST_CART_SESSION_KEY] = {str(pid): qty for pid, qty in lines.items()}
    session.modified = True


def _check_guest_line(*, product_id: Any, quantity: int) -> Product:
    try:
        product = Product.objects.select_related("shop").get(pk=int(product_id))
    except (Product.DoesNotExist, TypeError, ValueError):
        raise ProductNotFound() from None
    if not product.is_listed:
        raise ProductNotFound()
    _refuse_if_short(product=product, requested=quantity)
    if product.is_unique:
        _refuse_if_held_by_other(product=product, user_id=None, now=timezone.now())
    return product


def add_guest_item(*, session, product_id: int, quantity: int = 1) -> int:
    """Add units to the guest cart; return the line's new quantity.

    Raises ProductNotFound, InvalidQuantity, InsufficientStock, ItemReserved, AlreadyInCart.
    """
    quantity = _check_quantity(quantity)
    lines = get_guest_lines(session=session)
    if lines.get(_as_id(product_id)) and _is_unique(product_id):
        raise AlreadyInCart(extra={"product_id": _as_id(product_id)})
    product = _check_guest_line(product_id=product_id, quantity=quantity + lines.get(_as_id(product_id), 0))
    lines[product.pk] = lines.get(product.pk, 0) + quantity
    _save_guest_lines(session, lines)
    return lines[product.pk]


def set_guest_quantity(*, session, product_id: int, quantity: int) -> int:
    """Set a guest line's quantity (0 removes it); return the new quantity."""
    quantity = _check_quantity(quantity, allow_zero=True)
    if quantity == 0:
        remove_guest_item(session=session, product_id=product_id)
        return 0
    product = _check_guest_line(product_id=product_id, quantity=quantity)
    lines = get_guest_lines(session=session)
    lines[product.pk] = quantity
    _save_guest_lines(session, lines)
    return quantity


def remove_guest_item(*, session, product_id: int) -> None:
    """Remove a product from the guest cart; missing lines are ignored."""
    lines = get_guest_lines(session=session)
    if lines.pop(_as_id(product_id), None) is not None:
        _save_guest_lines(session, lines)


def _is_unique(product_id: Any) -> bool:
    product = Product.objects.filter(pk=_as_id(product_id)).only("quantity").first()
    return product is not None and product.is_unique


def _as_id(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def merge_guest_cart(*, user, session) -> list[dict[str, Any]]:
    """Move the guest cart into the buyer's account cart (at login) and empty it.

    Quantities add up, capped at the stock; unique items get the buyer's hold.
    Lines that cannot move (gone, held by someone else) are dropped and returned
    as [{"product_id", "code", "message"}] so the caller can tell the buyer.
    """
    lines = get_guest_lines(session=session)
    if not lines:
        return []
    skipped: list[dict[str, Any]] = []
    for product_id in sorted(lines):
        try:
            with transaction.atomic():
                product = _lock_purchasable_product(product_id, user_id=user.pk)
                existing = CartItem.objects.filter(user=user, product=product).first()
                wanted = lines[product_id] + (existing.quantity if existing else 0)
                capped = min(wanted, max(product.quantity, 0))
                if capped < 1:
                    _refuse_if_short(product=product, requested=wanted)
                _store_line(user=user, product=product, quantity=capped, now=timezone.now())
        except (ProductNotFound, InsufficientStock, ItemReserved) as exc:
            skipped.append({"product_id": product_id, "code": exc.code, "message": exc.message})
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
        update_fields=["ended_at"],
    )
    flag_ended_holds_on_commit(user_id for pk, user_id, _, _ in expired if pk in gone)
    return deleted


def forget_ended_holds(*, user, product_ids) -> int:
    """Drop the buyer's ended-hold notices for these products (the buyer was told)."""
    deleted, _ = EndedHold.objects.filter(user=user, product_id__in=list(product_ids)).delete()
    clear_ended_holds_flag(user_id=user.pk)
    return deleted
