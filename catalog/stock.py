"""Stock rows: the one place that locks listings and offerings and moves their quantity.

The offering is the stock truth (what a cart line and an order line point at); a listing's
``price`` and ``quantity`` are totals over its offerings, rewritten in the statement that moves
the offerings' stock (``decrement_offerings``, ``restock_offerings``) or by ``refresh_listing_totals``.

Lock order, for every writer: the listings in primary-key order (``lock_products``), then, when
the offering rows themselves are wanted, their offerings (``lock_offerings``). An offering is
written only under its listing's lock (stock moves, seller edits, cart holds), so the listing
lock is what serializes writers of its offerings and the order of offering locks cannot
deadlock. Two checkouts with overlapping carts queue behind each other on the listings.
``FOR NO KEY UPDATE`` still lets other transactions insert rows that merely reference a listing
or offering (cart lines, order items) without waiting.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from catalog.models import Offering, Product, Variation, VariationOption
from catalog.selectors import offering_choice_sql
from etsy.prepared import fetch_instances, instances_from_row, prepared_cursor, select_list
from shops.models import Shop


def set_lock_timeout(milliseconds: int) -> None:
    """Bound how long this transaction waits for a row lock (SET LOCAL: ends with the transaction)."""
    with prepared_cursor() as cursor:  # a constant statement, planned once per connection (etsy.prepared)
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{int(milliseconds)}ms"])


# The listings with their shops (every column, as ``select_related("shop")`` reads them), locked in id order:
# hand-written and prepared (the ORM took longer to build this read than PostgreSQL to run it, and PostgreSQL
# planned it on every call). ``{ids}``: ``= ANY(%s)`` for a list of ids, ``IN (<query>)`` for a query of ids.
_LOCK_PRODUCTS_MODELS = ((Product, "p"), (Shop, "s"))
_LOCK_PRODUCTS_SQL = f"""
    SELECT {select_list(_LOCK_PRODUCTS_MODELS)}
      FROM {Product._meta.db_table} AS p
      JOIN {Shop._meta.db_table} AS s ON s.id = p.shop_id
     WHERE p.id {{ids}}{{timeout}}
     ORDER BY p.id
       FOR NO KEY UPDATE OF p
"""
# ``lock_timeout_ms``: set_lock_timeout in the locking statement itself (a statement and a round trip fewer). The
# scalar sub-select is planned as a one-time filter, evaluated once when the statement starts, before any row is
# read or locked, rows or none (tests/catalog/test_stock.py holds both).
_WITH_LOCK_TIMEOUT = "\n       AND (SELECT set_config('lock_timeout', %s, true)) IS NOT NULL"
# By a list of ids, without and with the lock timeout: constant texts, prepared once each.
_LOCK_PRODUCTS_BY_ID_SQL = {
    timeout: _LOCK_PRODUCTS_SQL.format(ids="= ANY(%s::bigint[])", timeout=timeout)
    for timeout in ("", _WITH_LOCK_TIMEOUT)
}


def lock_products(
    *, product_ids: Iterable[int] | QuerySet | RawSQL, lock_timeout_ms: int | None = None
) -> dict[int, Product]:
    """Lock the given product rows in id order and return them by id, each with its shop. Must run inside a
    transaction.

    ``lock_timeout_ms``: ``set_lock_timeout`` first, in the same statement (for the rest of the transaction,
    whether or not a row was found).

    ``product_ids`` may be a query of ids (``.values("product_id")``, or a ``RawSQL`` whose text is constant: not
    compiled on every call): the rows are then found and locked in one statement (checkout locks its cart's
    listings without reading the cart first).
    """
    open_cursor = prepared_cursor  # a constant statement, planned once per connection (etsy.prepared)
    timeout = "" if lock_timeout_ms is None else _WITH_LOCK_TIMEOUT
    if isinstance(product_ids, RawSQL):
        sql, params = (
            _LOCK_PRODUCTS_SQL.format(ids=f"IN ({product_ids.sql})", timeout=timeout),
            list(product_ids.params),
        )
    elif isinstance(product_ids, QuerySet):
        try:
            subquery, params = product_ids.query.sql_with_params()
        except EmptyResultSet:  # e.g. ``pk__in=[]``: nothing to lock, no statement (as the ORM did)
            sql = None
        else:
            sql, params = _LOCK_PRODUCTS_SQL.format(ids=f"IN ({subquery})", timeout=timeout), list(params)
            if len(params) > 1:  # its text may grow with its parameters (an IN list): not one statement to keep
                open_cursor = connection.cursor
    else:
        ids = sorted(set(product_ids))
        sql, params = (_LOCK_PRODUCTS_BY_ID_SQL[timeout], [ids]) if ids else (None, [])
    if sql is None:  # nothing to lock
        if lock_timeout_ms is not None:
            set_lock_timeout(lock_timeout_ms)
        return {}
    if lock_timeout_ms is not None:
        params.append(f"{int(lock_timeout_ms)}ms")
    locked = {}
    for product, shop in fetch_instances(sql, params, _LOCK_PRODUCTS_MODELS, cursor=open_cursor):
        Product.shop.field.set_cached_value(product, shop)
        locked[product.pk] = product
    return locked


# The offering, its listing and shop, its options and their properties (``options_label`` reads them): every
# column the models have, as ``select_related`` would read them.
_ROW_MODELS = (
    (Offering, "o"),
    (Product, "p"),
    (Shop, "s"),
    (VariationOption, "o1"),
    (Variation, "v1"),
    (VariationOption, "o2"),
    (Variation, "v2"),
)
_LOCK_OFFERING_SQL = f"""
    SELECT {select_list(_ROW_MODELS)}
      FROM {Offering._meta.db_table} AS o
      JOIN {Product._meta.db_table} AS p ON p.id = o.product_id
      JOIN {Shop._meta.db_table} AS s ON s.id = p.shop_id
      LEFT JOIN {VariationOption._meta.db_table} AS o1 ON o1.id = o.option1_id
      LEFT JOIN {Variation._meta.db_table} AS v1 ON v1.id = o1.variation_id
      LEFT JOIN {VariationOption._meta.db_table} AS o2 ON o2.id = o.option2_id
      LEFT JOIN {Variation._meta.db_table} AS v2 ON v2.id = o2.variation_id
     WHERE {{condition}}
     ORDER BY o.id
     LIMIT 1
       FOR NO KEY UPDATE OF p
"""


def attach_options(offering: Offering, option1, variation1, option2, variation2) -> None:
    """Cache a hand-read offering's options and their properties on it (``options_label`` reads them)."""
    for option, variation, field in ((option1, variation1, Offering.option1), (option2, variation2, Offering.option2)):
        if option is not None:
            VariationOption.variation.field.set_cached_value(option, variation)
        field.field.set_cached_value(offering, option)


def lock_offering_with_listing(
    *, offering_id: int | None = None, product_id: int | None = None, option_ids: Sequence[int] = ()
) -> Offering | None:
    """Lock the listing of the offering the buyer names and return that offering with its locked listing, the
    listing's shop and its options loaded, in one statement; None when there is none. Must run inside a
    transaction.

    ``offering_id`` (of ``product_id`` when given), else the offering of ``product_id`` for ``option_ids``
    (``catalog.selectors.offering_choice_sql``: one per variation property, none for a plain listing). Only the
    listing row is locked: its lock covers its offerings (see the module's lock order). Hand-written: the ORM
    took longer to build this read than PostgreSQL to answer it. Raises OfferingNotFound for malformed options.
    """
    if offering_id is not None:
        condition, params = "o.id = %s", [offering_id]
        if product_id is not None:
            condition, params = f"{condition} AND o.product_id = %s", [offering_id, product_id]
    else:
        condition, params = offering_choice_sql(product_id=product_id, option_ids=option_ids)
    with prepared_cursor() as cursor:
        cursor.execute(_LOCK_OFFERING_SQL.format(condition=condition), params)
        row = cursor.fetchone()
    if row is None:
        return None
    (offering, product, shop, *options), _ = instances_from_row(row, _ROW_MODELS)
    Product.shop.field.set_cached_value(product, shop)
    Offering.product.field.set_cached_value(offering, product)
    attach_options(offering, *options)
    return offering


def lock_offerings(*, offering_ids: Iterable[int]) -> dict[int, Offering]:
    """Lock the given offering rows in id order and return them by id (with their options' labels loaded).

    The lock order is listings first, then offerings: lock the offerings' listings with ``lock_products``
    before calling this. Every stock writer takes the listing row (the totals live there) and then its
    offerings, so two writers never wait on each other in opposite orders.
    """
    ids = sorted(set(offering_ids))
    if not ids:
        return {}
    rows = (
        Offering.objects.select_for_update(no_key=True, of=("self",))
        .select_related("option1__variation", "option2__variation")
        .filter(pk__in=ids)
        .order_by("pk")
    )
    return {offering.pk: offering for offering in rows}


# A listing's totals from its offerings: the one home of "Product.price and Product.quantity are derived".
# ``{quantity}`` is the offering's quantity as the statement leaves it (a stock move substitutes the moved
# rows' new quantity, since a data-modifying CTE's sibling statements all read the same snapshot).
_TOTALS_SELECT = """
    SELECT o.product_id,
           COALESCE(MIN(o.price) FILTER (WHERE o.is_enabled AND {quantity} > 0),
                    MIN(o.price) FILTER (WHERE o.is_enabled), MIN(o.price)) AS price,
           COALESCE(SUM({quantity}) FILTER (WHERE o.is_enabled), 0) AS quantity,
           -- "from $X" on cards: switched-on offerings differ in price, whatever their stock (a stock move
           -- leaves it as it is).
           COALESCE(MIN(o.price) FILTER (WHERE o.is_enabled) <> MAX(o.price) FILTER (WHERE o.is_enabled),
                    FALSE) AS has_price_range
      FROM {offering} AS o {join}
     WHERE o.product_id IN ({product_ids})
     GROUP BY o.product_id
"""

# Moves stock of several offerings and their listings' totals in one statement. ``moved`` takes or gives
# units: a taking row is only updated while it has them (``o.quantity + delta >= 0``), so a short offering
# comes back missing from RETURNING and nothing is taken from it; the caller rolls back. The constraints
# ``quantity >= 0`` on both tables stand behind it.
_MOVE_SQL = f"""
    WITH moved AS (
        UPDATE {Offering._meta.db_table} AS o
           SET quantity = o.quantity + delta.units
          FROM unnest(%s::bigint[], %s::integer[]) AS delta(id, units)
         WHERE o.id = delta.id AND o.quantity + delta.units >= 0
     RETURNING o.id, o.product_id, delta.units
    ), totals AS (
        UPDATE {Product._meta.db_table} AS p
           SET price = t.price, quantity = t.quantity
          FROM ({
    _TOTALS_SELECT.format(
        quantity="(o.quantity + COALESCE(m.units, 0))",
        offering=Offering._meta.db_table,
        join="LEFT JOIN moved AS m ON m.id = o.id",
        product_ids="SELECT product_id FROM moved",
    )
}) AS t
         WHERE p.id = t.product_id
     RETURNING p.id
    )
    SELECT id FROM moved
"""


def _move_stock(units: Mapping[int, int]) -> set[int]:
    ids = sorted(units)
    if not ids:
        return set()
    with prepared_cursor() as cursor:  # a constant statement, planned once per connection (etsy.prepared)
        cursor.execute(_MOVE_SQL, [ids, [int(units[pk]) for pk in ids]])
        return {row[0] for row in cursor.fetchall()}


def decrement_offerings(*, quantities: Mapping[int, int]) -> list[int]:
    """Take each offering's units if and only if they are all there, and refresh their listings' totals, in
    one statement; return the offering ids that were short (nothing taken from those rows).

    Lock first (``lock_products`` on the listings, then ``lock_offerings``): the caller rolls back when any
    is short, so a checkout takes all of its units or none.
    """
    wanted = {pk: int(n) for pk, n in quantities.items() if int(n) > 0}
    taken = _move_stock({pk: -n for pk, n in wanted.items()})
    return [pk for pk in sorted(wanted) if pk not in taken]


def restock_offerings(*, quantities: Mapping[int, int]) -> None:
    """Give units back to each offering and refresh their listings' totals, in one statement (lock the
    listings and offerings first, as for ``decrement_offerings``). Offerings deleted since are skipped."""
    _move_stock({pk: int(n) for pk, n in quantities.items() if int(n) > 0})


_REFRESH_TOTALS_SQL = f"""
    UPDATE {Product._meta.db_table} AS p
       SET price = totals.price, quantity = totals.quantity, has_price_range = totals.has_price_range
      FROM ({
    _TOTALS_SELECT.format(
        quantity="o.quantity", offering=Offering._meta.db_table, join="", product_ids="SELECT unnest(%s::bigint[])"
    )
}) AS totals
     WHERE p.id = totals.product_id
       AND (p.price, p.quantity, p.has_price_range)
           IS DISTINCT FROM (totals.price, totals.quantity, totals.has_price_range)
"""


def refresh_listing_totals(*, product_ids: Iterable[int]) -> None:
    """Recompute each listing's totals from its offerings: ``quantity`` the sum over switched-on offerings,
    ``price`` the lowest switched-on price in stock (the cards' "from $X"), else the lowest switched-on one,
    ``has_price_range`` whether the switched-on offerings differ in price (whatever their stock: a card's "from"
    does not come and go with sales).

    Call it in the transaction that changed the offerings, after locking the listings (``lock_products``).
    """
    ids = sorted(set(product_ids))
    if ids:
        with connection.cursor() as cursor:
            cursor.execute(_REFRESH_TOTALS_SQL, [ids])


_APPLY_LISTING_EDITS_SQL = f"""
    UPDATE {Offering._meta.db_table} AS o
       SET price = p.price, quantity = p.quantity
      FROM {Product._meta.db_table} AS p
     WHERE o.product_id = p.id AND p.id = ANY(%s)
       AND o.option1_id IS NULL AND o.option2_id IS NULL
       AND (o.price, o.quantity) IS DISTINCT FROM (p.price, p.quantity)
"""


def apply_listing_edits_to_offerings(*, product_ids: Iterable[int]) -> None:
    """After a seller wrote a listing's own ``price``/``quantity`` (listing form, bulk edit, CSV import), carry
    them onto the implicit offering of each listing without variations, then refresh every listing's totals
    (a listing with variations gets its offerings' totals back: its stock is edited per offering).

    Lock the listings first (``lock_products``); a listing that has no offering yet gets its implicit one.
    """
    ids = sorted(set(product_ids))
    if not ids:
        return
    create_implicit_offerings(product_ids=ids)
    with connection.cursor() as cursor:
        cursor.execute(_APPLY_LISTING_EDITS_SQL, [ids])
    refresh_listing_totals(product_ids=ids)


def set_offerings_sold_out(*, product_ids: Iterable[int]) -> None:
    """Set every offering of these listings to quantity 0 and their totals with it (lock the listings first)."""
    ids = sorted(set(product_ids))
    if ids:
        Offering.objects.filter(product_id__in=ids).exclude(quantity=0).update(quantity=0)
        refresh_listing_totals(product_ids=ids)


_CREATE_IMPLICIT_SQL = f"""
    INSERT INTO {Offering._meta.db_table} (product_id, price, quantity, sku, is_enabled)
    SELECT p.id, p.price, p.quantity, '', TRUE
      FROM {Product._meta.db_table} AS p
     WHERE p.id = ANY(%s)
       AND NOT EXISTS (SELECT 1 FROM {Offering._meta.db_table} AS o WHERE o.product_id = p.id)
     ORDER BY p.id
"""


def create_implicit_offerings(*, product_ids: Iterable[int]) -> None:
    """Give each listing that has no offering yet its one implicit offering, at the listing's own price and
    quantity (bulk loaders and imports that insert listings call this in the same transaction)."""
    ids = sorted(set(product_ids))
    if ids:
        with connection.cursor() as cursor:
            cursor.execute(_CREATE_IMPLICIT_SQL, [ids])
