"""What a listing's offerings add to a search over ``search_listing p``: option filters and counts, offering prices.

``p.offer_prices`` holds the distinct prices of a listing's switched-on offerings in stock when there are two or
more (NULL: its one price is ``p.price``, the lowest); ``p.options`` its facet keys (search/options.py), NULL
without any. Both are kept by the triggers of search migration 0010. Every value is a bind parameter.
"""

from __future__ import annotations

from decimal import Decimal

from search.options import FACET_VALUES_SHOWN, counted_keys_context, filter_key


def price_sql(
    window: tuple[Decimal | None, Decimal | None, bool],
    *,
    sql_params: dict[str, object],
    name: str,
) -> str:
    """Return the condition "one of the listing's offerings in stock costs within ``window``".

    ``window`` is (inclusive low, high, whether high is inclusive) (``search.types.price_window``). The
    filter and the four facet counts all use this one condition, so a facet's count is what its link finds.
    """
    low, high, high_inclusive = window
    if low is not None:
        sql_params[f"{name}_low"] = low
    if high is not None:
        sql_params[f"{name}_high"] = high
    op = "<=" if high_inclusive else "<"

    def within(value: str) -> str:
        parts = [f"{value} >= %({name}_low)s"] if low is not None else []
        parts += [f"{value} {op} %({name}_high)s"] if high is not None else []
        return " AND ".join(parts) or "true"

    # The lowest price above the window's top: no offering is in it (the price index can say so).
    below_top = f"p.price {op} %({name}_high)s AND " if high is not None else ""
    return (
        f"({below_top}CASE WHEN p.offer_prices IS NULL THEN {within('p.price')}"
        f" ELSE EXISTS (SELECT 1 FROM unnest(p.offer_prices) AS x WHERE {within('x')}) END)"
    )


def option_filter_sql(chosen: dict[str, str], *, sql_params: dict[str, object]) -> str | None:
    """Return the condition "one offering in stock has every option chosen", or None when none is."""
    key = filter_key(chosen)
    if key is None:
        return None
    if not key:  # three facets: no listing has three variation properties
        return "false"
    sql_params["option_key"] = [key]
    return "p.options @> %(option_key)s::text[]"


def option_counts_sql(chosen: dict[str, str], *, rows: str, sql_params: dict[str, object]) -> str:
    """Return a scalar subquery: [[key, listings], ...] over ``rows`` (aliased ``p``), at most
    ``FACET_VALUES_SHOWN`` per facet, read as ``search.options.build_option_facets`` expects."""
    context = counted_keys_context(chosen)
    if context == "":
        return "'[]'::json"
    sql_params["facet_values"] = FACET_VALUES_SHOWN
    if context is None:
        keep, other = "strpos(k, chr(31)) = 0", "k"
    else:
        sql_params["option_context"] = context
        first, second = "split_part(k, chr(31), 1)", "split_part(k, chr(31), 2)"
        keep = f"strpos(k, chr(31)) > 0 AND %(option_context)s IN ({first}, {second})"
        other = f"CASE WHEN {first} = %(option_context)s THEN {second} ELSE {first} END"
    return f"""(SELECT coalesce(json_agg(json_build_array(k, n)), '[]')
       FROM (SELECT k, n, row_number() OVER (PARTITION BY split_part(other, ':', 1) ORDER BY n DESC, other) AS r
               FROM (SELECT k, {other} AS other, count(*) AS n
                       FROM {rows}, unnest(p.options) AS k
                      WHERE p.options IS NOT NULL AND {keep}
                      GROUP BY k) keys) ranked
      WHERE r <= %(facet_values)s)"""
