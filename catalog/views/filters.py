"""What a listing page reads from its query string: filters, sort and page, and the page size.

Category and shop pages share these (``catalog.shop_views``); search reads prices and pages the same way.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.http import HttpRequest

from catalog import selectors

PER_PAGE = 24
MAX_PAGE = 400  # deep pages of a 100k catalog are for search, not for browsing
SORT_CHOICES = [
    ("newest", "Newest"),
    ("popular", "Most loved"),
    ("price_asc", "Price: low to high"),
    ("price_desc", "Price: high to low"),
]


def decimal_param(raw: str | None) -> Decimal | None:
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() and value >= 0 else None


def int_param(raw: str | None, default: int = 1) -> int:
    try:
        return max(1, min(int(raw), MAX_PAGE)) if raw else default
    except (TypeError, ValueError):
        return default


def listing_filters(request: HttpRequest) -> dict:
    """Parse listing filters from the query string; bad values are ignored, never a 500."""
    vintage = {"1": True, "0": False}.get(request.GET.get("vintage", ""))
    ordering = request.GET.get("sort", "newest")
    if ordering not in selectors.ORDERINGS:
        ordering = "newest"
    return {
        "price_min": decimal_param(request.GET.get("min")),
        "price_max": decimal_param(request.GET.get("max")),
        "vintage": vintage,
        "ordering": ordering,
        "page": int_param(request.GET.get("page")),
    }


def filters_query(filters: dict) -> dict[str, str]:
    """Return the query string a listing page's links carry: the filters ``listing_filters`` kept, as text."""
    query = {
        "min": filters["price_min"],
        "max": filters["price_max"],
        "vintage": {True: "1", False: "0"}.get(filters["vintage"]),
        "sort": filters["ordering"] if filters["ordering"] != "newest" else None,
        "page": filters["page"] if filters["page"] > 1 else None,
    }
    return {key: str(value) for key, value in query.items() if value is not None}
