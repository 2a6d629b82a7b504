"""Appending to the shops' ledgers (never updating): each movement once, by its key."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from etsy.prepared import UnnestRows, prepared_cursor
from payments.models import LedgerEntry

Kind = LedgerEntry.Kind

# One statement per call, whatever the number of entries: an entry whose key is already in the ledger is left
# as it is (ON CONFLICT DO NOTHING never updates, so the append-only trigger is not involved), and RETURNING
# names the keys added now. get_or_create took a read, a savepoint, the INSERT and its release per entry. The
# entries come as one array per column (etsy.prepared.UnnestRows), so the statement's text is the same for any
# number of them: prepared, planned once per connection (etsy.prepared).
_ROWS = UnnestRows(LedgerEntry)
_APPEND_SQL = f"""
    INSERT INTO {LedgerEntry._meta.db_table} ({_ROWS.names})
    SELECT {_ROWS.select("r")} FROM {_ROWS.source("r")} ORDER BY r.n
    ON CONFLICT (key) DO NOTHING
    RETURNING key
"""


def _append_entries(entries: list[dict]) -> set[str]:
    """Insert the entries whose key is new, in one statement; return the keys added."""
    rows = [{**e, "kind": str(e["kind"]), "reference": e.get("reference", "")} for e in entries]
    with prepared_cursor() as cursor:
        cursor.execute(_APPEND_SQL, _ROWS.params(_ROWS.arrays(rows, now=timezone.now())))
        return {row[0] for row in cursor.fetchall()}


def append(*, shop_id: int, order_id: int | None, kind: str, amount: Decimal, key: str, reference: str = "") -> bool:
    """Append one entry unless its ``key`` is already in the ledger; return whether it was added."""
    entry = {"shop_id": shop_id, "order_id": order_id, "kind": kind, "amount": amount, "key": key}
    return bool(_append_entries([{**entry, "reference": reference}]))


def append_many(*, entries: list[dict]) -> set[str]:
    """``append`` for several entries (``shop_id``, ``order_id``, ``kind``, ``amount``, ``key``, ``reference``),
    in one statement; return the keys added."""
    return _append_entries(entries) if entries else set()


def record_sale(*, order) -> None:
    """The order's sale and its fees (frozen on the order): together they are the seller's net, written in one
    statement (both or neither)."""
    record_sales(orders=[order])


def record_sales(*, orders) -> None:
    """``record_sale`` for several orders, in one statement."""
    entries = [entry for order in orders for entry in _sale_entries(order)]
    if entries:
        _append_entries(entries)


def _sale_entries(order) -> list[dict]:
    entries = [
        {
            "shop_id": order.shop_id,
            "order_id": order.pk,
            "kind": Kind.SALE,
            "amount": order.total,
            "key": f"sale:order:{order.pk}",
            "reference": order.checkout.provider_charge_id,
        }
    ]
    if order.fees:
        entries.append(
            {
                "shop_id": order.shop_id,
                "order_id": order.pk,
                "kind": Kind.FEE,
                "amount": -order.fees,
                "key": f"fee:order:{order.pk}",
            }
        )
    return entries
