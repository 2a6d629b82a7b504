"""Cart writes: signed-in carts (rows, with reservations) and guest carts (session).

A cart line buys an offering (a size and colour of a listing, or a plain listing's implicit
offering) with the buyer's personalisation text; lines are named by their id. A unique offering
(stock 1) added to a signed-in cart is held for the buyer for ``settings.RESERVATION_MINUTES``.
A hold past ``reserved_until`` is no hold: every reader compares with now(), the cleanup task
only deletes dead rows. Adds lock the listing row (``catalog.stock``: the listing's lock covers
its offerings) so two buyers reaching for the same unique offering are serialized and exactly
one gets the hold.

Where each capability lives (this package names every public one, for callers and tests): ``choosing`` (the
offering and quantity a buyer names, looked up or locked), ``availability`` (stock and other buyers' holds),
``lines`` (a signed-in cart's lines: add, change, remove), ``guest`` (guest carts in the session), ``merging``
(a guest cart into the account's at login), ``ended_holds`` (the expired-hold cleanup and its notices).
"""

from cart.services.availability import reservation_deadline
from cart.services.ended_holds import ENDED_HOLD_NOTICE_DAYS, delete_expired_reservations, forget_ended_holds
from cart.services.guest import (
    GUEST_CART_SESSION_KEY,
    GuestLine,
    add_guest_item,
    get_guest_lines,
    remove_guest_item,
    set_guest_quantity,
)
from cart.services.lines import (
    add_item,
    clear_cart,
    remove_item,
    remove_items,
    remove_lines,
    remove_lines_by_id,
    set_quantity,
)
from cart.services.merging import merge_guest_cart

__all__ = [
    "ENDED_HOLD_NOTICE_DAYS",
    "GUEST_CART_SESSION_KEY",
    "GuestLine",
    "add_guest_item",
    "add_item",
    "clear_cart",
    "delete_expired_reservations",
    "forget_ended_holds",
    "get_guest_lines",
    "merge_guest_cart",
    "remove_guest_item",
    "remove_item",
    "remove_items",
    "remove_lines",
    "remove_lines_by_id",
    "reservation_deadline",
    "set_guest_quantity",
    "set_quantity",
]
