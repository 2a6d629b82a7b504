"""The search results page (results, facets, filter chips, "did you mean", degraded notice)
and the suggestions fragment htmx shows under the header search box."""

from __future__ import annotations

from decimal import Decimal

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from catalog.exceptions import CategoryNotFound
from catalog.shells import shell_response, signed_in_user_id
from catalog.views.filters import decimal_param, int_param
from etsy import cache
from search import selectors
from search.caching import VERSION_KEY, read_listing_stamps
from search.exceptions import InvalidSearch
from search.options import FACET_KEYS, FACET_LABELS, MAX_VALUE_LENGTH, option_value_label
from search.types import PRICE_RANGE_KEYS, PRICE_RANGES, SORTS, SearchParams

SORT_LABELS = {
    "relevance": "Most relevant",
    "newest": "Newest",
    "price_asc": "Price: low to high",
    "price_desc": "Price: high to low",
}
PER_PAGE = 24


def _params(request: HttpRequest) -> SearchParams:
    g = request.GET
    price_min, price_max = decimal_param(g.get("min")), decimal_param(g.get("max"))
    # A facet link filters by its half-open range (the bounds its count used); typed bounds are inclusive.
    price_range = g.get("price") if g.get("price") in PRICE_RANGE_KEYS else None
    if price_range is not None:
        price_min = price_max = None
    if price_min is not None and price_max is not None and price_min > price_max:
        price_min, price_max = price_max, price_min
    sort = g.get("sort") or "relevance"
    return SearchParams(
        q=(g.get("q") or "")[:200],
        category=g.get("category") or None,
        price_min=price_min,
        price_max=price_max,
        price_range=price_range,
        vintage={"1": True, "0": False}.get(g.get("vintage", "")),
        # Cut to the longest an option can be (a longer one matches nothing): no results, not an error page.
        **{facet: g.get(facet)[:MAX_VALUE_LENGTH] or None for facet in FACET_KEYS if g.get(facet)},
        sort=sort if sort in SORTS else "relevance",
        page=int_param(g.get("page")),
        per_page=PER_PAGE,
    )


def _query(params: SearchParams) -> dict[str, str]:
    """Return the query string the page's links carry: the parameters ``_params`` kept, as text (see ``qs``)."""
    query = {
        "q": params.q or None,
        "category": params.category,
        "min": params.price_min,
        "max": params.price_max,
        "price": params.price_range,
        "vintage": {True: "1", False: "0"}.get(params.vintage),
        **{facet: getattr(params, facet) for facet in FACET_KEYS},
        "sort": params.sort if params.sort != "relevance" else None,
        "page": params.page if params.page > 1 else None,
    }
    return {key: str(value) for key, value in query.items() if value is not None}


def _chips(params: SearchParams, result) -> list[tuple[str, dict]]:
    chips = []
    if params.category:
        name = next((c.name for c in result.categories if c.slug == params.category), params.category)
        chips.append((f"Category: {name}", {"category": ""}))
    if params.price_range is not None:
        chips.append((next(lbl for key, lbl, *_ in PRICE_RANGES if key == params.price_range), {"price": ""}))
    elif params.price_min is not None or params.price_max is not None:
        label = f"${params.price_min or Decimal(0):,.0f}–" + (
            f"${params.price_max:,.0f}" if params.price_max is not None else "up"
        )
        chips.append((label, {"price": "", "min": "", "max": ""}))
    if params.vintage is not None:
        chips.append(("Vintage" if params.vintage else "Handmade", {"vintage": ""}))
    for facet, value in result.params.chosen_options.items():  # normalized as the facets show them
        chips.append((f"{FACET_LABELS[facet]}: {option_value_label(facet, value)}", {facet: ""}))
    return chips


def results(request: HttpRequest) -> HttpResponse:
    params = _params(request)
    outcome = {"status": 200}

    def build() -> dict:
        try:
            result, error = selectors.search_products(params=params), None
        except (InvalidSearch, CategoryNotFound) as exc:
            result, error = None, exc.message
            outcome["status"] = 400 if isinstance(exc, InvalidSearch) else 404
        return {
            "params": params,
            "result": result,
            "error": error,
            "search_q": params.q,
            "query": _query(params),
            "chips": _chips(params, result) if result else [],
            "sort_labels": SORT_LABELS,
            "price_ranges": PRICE_RANGES,
        }

    key = f"page:search:{cache.params_digest(params.__dict__)}"
    shown_key = f"{key}:shown"  # the listings the cached page shows, with their stamps then

    def build_and_remember() -> dict:
        context = build()
        if context["result"] is not None:
            ids = [p.pk for p in context["result"].hits]
            cache.set(shown_key, (ids, read_listing_stamps(ids)), ttl=cache.TTL["search"] * 2)
        return context

    response = shell_response(
        request,
        key=key,
        ttl=cache.TTL["search"],
        cache_type="page",
        template="search/results.html",
        build_context=build_and_remember,
        found=_read_page(request, key=key, shown_key=shown_key),
        gen_keys=(VERSION_KEY,),  # bumped by bulk and shop-wide changes only (search.caching)
        cacheable=lambda context: context["result"] is not None and not context["result"].degraded,
    )
    response.status_code = outcome["status"]
    return response


def _read_page(request: HttpRequest, *, key: str, shown_key: str) -> dict | None:
    """Read the cached page and what it depends on; a page showing a listing changed since it was
    built (sold, edited) is left out, so it is rebuilt. Other changes show within the search TTL."""
    user_id = signed_in_user_id(request)
    found = cache.read_with([key, shown_key, VERSION_KEY] + ([cache.cart_count_key(user_id)] if user_id else []))
    if found is None or key not in found:
        return found
    shown = found.get(shown_key)
    if shown is None or read_listing_stamps(shown[0]) != shown[1]:
        del found[key]
    return found


@require_safe
def suggest(request: HttpRequest) -> HttpResponse:
    """Render the suggestions for the typed text as a fragment (empty below two characters)."""
    suggestions = selectors.list_suggestions(prefix=request.GET.get("q", ""))
    response = render(request, "search/_suggestions.html", {"suggestions": suggestions})
    patch_cache_control(response, private=True, max_age=60)
    return response
