"""The cart's write-through cache: a signed-in buyer's lines and count, kept 30 minutes.

Every change of a cart line stores the buyer's whole cart again after commit
(``write_cart_through_on_commit``, called by ``cart.receivers`` for every saved or deleted
line, whoever deleted it: the reservation sweep, a cascade; and directly by the one-statement
writes that send no signals: the add/set upsert of ``cart.services`` and checkout's delete).
Stores are versioned (``etsy.cache.store_if_newer``), so two changes that finish out of
order leave the newer contents. Readers that miss store what they read under the same rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import partial
from typing import NamedTuple

from django.core.cache import cache as django_cache
from django.db import connection, transaction

from cart.models import CartItem
from catalog.models import Product
from etsy import cache, metrics
from etsy.prepared import prepared_cursor

ENDED_HOLD_FLAG_TTL = 7 * 24 * 3600  # as long as the notices are kept (cart.services.ENDED_HOLD_NOTICE_DAYS)


class StoredLine(NamedTuple):
    """One cart line as cached: what to show comes from the product, shop and inventory caches (the
    offering's stock, price and options label from its listing's inventory)."""

    product_id: int
    shop_id: int
    quantity: int
    reserved_until: datetime | None
    id: int = 0
    offering_id: int | None = None
    personalization: str = ""


_LINES_SQL = f"""
    SELECT c.product_id, p.shop_id, c.quantity, c.reserved_until, c.id, c.offering_id, c.personalization
      FROM {CartItem._meta.db_table} c
      JOIN {Product._meta.db_table} p ON p.id = c.product_id
     WHERE c.user_id = %s
     ORDER BY c.added_at, c.id
"""


def _read_lines(user_id: int) -> list[StoredLine]:
    # Hand-written: it runs after every cart change, and the ORM took three times longer to
    # build this join than PostgreSQL to answer it.
    with prepared_cursor() as cursor:
        cursor.execute(_LINES_SQL, [user_id])
        return [StoredLine(*row) for row in cursor.fetchall()]


def _store(user_id: int, lines: list[StoredLine], version: int) -> None:
    cache.store_if_newer(
        {cache.cart_key(user_id): lines, cache.cart_count_key(user_id): sum(line.quantity for line in lines)},
        version_key=cache.cart_version_key(user_id),
        sequence_key=cache.cart_sequence_key(user_id),
        version=version,
        ttl=cache.TTL["cart"],
    )


def write_cart_through(user_id: int, *, stale: Sequence[str] = ()) -> None:
    """Store the buyer's cart as the database has it now; run after the change committed.

    ``stale``: keys the change made stale (a listing's stock count), deleted in the round trip that takes
    the store's version.
    """
    version = cache.take_version(cache.cart_sequence_key(user_id), ttl=cache.TTL["cart"], delete=stale)
    if version is None:  # cache off or Redis down: readers use the database
        if stale:
            cache.delete(*stale)
        return
    _store(user_id, _read_lines(user_id), version)


class _WriteCartThrough:
    """The after-commit callback storing one buyer's cart (and deleting the keys its changes made stale)."""

    def __init__(self, user_id: int) -> None:
        self.user_id = user_id
        self.done = False
        self.stale: set[str] = set()

    def __call__(self) -> None:
        self.done = True
        write_cart_through(self.user_id, stale=sorted(self.stale))


def write_cart_through_on_commit(user_id: int, *, stale: Iterable[str] = ()) -> None:
    """Store the buyer's cart after the current transaction commits, once however many lines it changed, and
    delete the keys the changes made ``stale`` in the round trip that takes the store's version.

    A checkout deleting five lines schedules one store, not five: a callback for this buyer
    still waiting in this transaction reads the database after the commit and so sees every
    change (Django drops the callbacks of a rolled-back savepoint from the list).
    """
    if connection.in_atomic_block:
        for _savepoints, callback, *_ in connection.run_on_commit:
            if isinstance(callback, _WriteCartThrough) and callback.user_id == user_id and not callback.done:
                callback.stale.update(stale)
                return
    callback = _WriteCartThrough(user_id)
    callback.stale.update(stale)  # before it is scheduled: outside a transaction it runs at once
    transaction.on_commit(callback)


def refresh_caches_after_line_change_on_commit(*, user_id: int, product_id: int, holds_changed: bool = True) -> None:
    """After commit, what the receivers of a saved or deleted line do (``cart.receivers``), for writes that send
    no model signals (one-statement upserts and deletes): store the buyer's cart, drop the product's stock count
    (a hold changes what its page says), the drop in the round trip that takes the store's version.

    ``holds_changed``: False when the write neither took nor cleared a hold (the stock count, which holds alone
    move of all a cart line does, stays).
    """
    write_cart_through_on_commit(user_id, stale=[cache.inventory_key(product_id)] if holds_changed else ())


def cart_read_keys(user_id: int) -> list[str]:
    """The keys ``list_cached_lines`` reads (a page may read them with its own, in one round trip)."""
    return [cache.cart_key(user_id)]


def list_cached_lines(*, user_id: int, found: dict | None = None) -> list[StoredLine]:
    """Return the buyer's cart lines in the order they were added (one Redis round trip when cached, none
    when this process keeps them).

    ``found``: the caller's read of ``cart_read_keys`` (a key absent from it is a miss). A miss reads the
    cart's version counter before the database (a second round trip): the store is versioned by it.
    """
    if found is None:
        found = cache.get_many(cart_read_keys(user_id))
    lines = found.get(cache.cart_key(user_id))
    if lines is not None:
        metrics.cache_hits.labels(cache_type="cart").inc()
        return lines
    metrics.cache_misses.labels(cache_type="cart").inc()
    sequence = cache.get_many([cache.cart_sequence_key(user_id)]).get(cache.cart_sequence_key(user_id))
    lines = _read_lines(user_id)
    if cache.is_enabled():
        _store(user_id, lines, int(sequence or 0))
    return lines


def count_cached_items(*, user_id: int) -> int:
    """Return the number of units in the buyer's cart (cached with the lines)."""
    count = cache.get(cache.cart_count_key(user_id), cache_type="cart")
    if count is not None:
        return int(count)
    return sum(line.quantity for line in list_cached_lines(user_id=user_id))


def ended_holds_key(user_id: int) -> str:
    """The flag ``has_ended_holds`` reads (a page may read it with its own keys)."""
    return f"cart:{user_id}:ended-holds"


def flag_ended_holds_on_commit(user_ids) -> None:
    """After commit, mark these buyers as having ended holds to be told about (spares the cart page a query)."""
    keys = [ended_holds_key(user_id) for user_id in sorted(set(user_ids))]
    if keys:
        transaction.on_commit(partial(django_cache.set_many, dict.fromkeys(keys, 1), ENDED_HOLD_FLAG_TTL))


def has_ended_holds(*, user_id: int) -> bool:
    """Whether the sweep took a held line out of this buyer's cart since the cart page last said so."""
    return bool(django_cache.get(ended_holds_key(user_id)))


def note_no_ended_holds(*, user_id: int) -> None:
    """Store "none" (0) where the flag is absent, unless the sweep set it meanwhile: an absent key is read from
    Redis on every cart page, a stored 0 is kept by each process (``etsy.near_cache``) until the sweep sets 1."""
    try:
        django_cache.add(ended_holds_key(user_id), 0, ENDED_HOLD_FLAG_TTL)
    except Exception:  # noqa: BLE001 - only a saved round trip is lost
        pass


def clear_ended_holds_flag(*, user_id: int) -> None:
    cache.delete(ended_holds_key(user_id))  # and this process's near copy (the cart page keeps one)
