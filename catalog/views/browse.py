"""Buyer pages to browse the catalog: the home feed and category listings.

Hot pages are served from cached page shells with the visitor's blocks filled in
(``catalog.shells``).
"""

from __future__ import annotations

from decimal import Decimal
from functools import partial

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from catalog import personalization, selectors
from catalog.exceptions import CategoryNotFound
from catalog.shells import Revalidation, has_session, personal_keys, shell_response, signed_in_user_id
from catalog.views.filters import PER_PAGE, SORT_CHOICES, filters_query, listing_filters
from etsy import cache

# --- home ---------------------------------------------------------------------------------


def home(request: HttpRequest) -> HttpResponse:
    user_id = signed_in_user_id(request)
    session_key = request.session.session_key if has_session(request) else None
    # One round trip: the shared and the personal shell, the cart badge and the recent views.
    personal_key = f"page:home:u{user_id}" if user_id else None
    keys = [cache.HOME_PAGE_KEY] + ([personal_key, *personal_keys(user_id)] if user_id else [])
    queued: list[bool] = []
    found = cache.read_with(
        keys,
        lambda pipe: queued.append(personalization.queue_recent_views(pipe, user_id=user_id, session_key=session_key)),
    )
    raw = found["__replies__"][0] if found and queued and queued[0] else None
    seen = personalization.list_recent_view_ids(user_id=user_id, session_key=session_key, raw=raw)
    personalized = len(seen) >= personalization.COLD_START_VIEWS

    def build():
        products = selectors.get_home_feed(user=request.user, session_key=session_key)
        return {"products": products, "personalized": personalized, "roots": selectors.list_categories_tree()}

    if personalized and user_id:
        key, ttl = personal_key, cache.TTL["feed"]
    elif personalized:
        return render(request, "catalog/home.html", build())
    else:
        key, ttl = cache.HOME_PAGE_KEY, cache.TTL["page"]
    return shell_response(
        request,
        key=key,
        ttl=ttl,
        cache_type="page",
        template="catalog/home.html",
        build_context=build,
        found=found or {},
    )


# --- category --------------------------------------------------------------------------------


def category(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        current = selectors.get_category(slug=slug)
    except CategoryNotFound:
        raise Http404("No such category") from None
    filters = listing_filters(request)
    key = f"page:category:{cache.params_digest({'slug': slug, **filters})}"

    def build(fresh: bool = False):
        listing = selectors.list_products_page(category_slug=slug, per_page=PER_PAGE, fresh=fresh, **filters)
        chips = []
        if filters["price_min"] is not None or filters["price_max"] is not None:
            chips.append(("price", _price_label(filters["price_min"], filters["price_max"]), {"min": "", "max": ""}))
        if filters["vintage"] is not None:
            chips.append(("vintage", "Vintage" if filters["vintage"] else "Handmade (not vintage)", {"vintage": ""}))
        return {
            "category": current,
            "ancestors": selectors.list_category_ancestors(category=current),
            "children": current.tree_children,
            "roots": selectors.list_categories_tree(),
            "listing": listing,
            "filters": filters,
            "query": filters_query(filters),
            "chips": chips,
            "sort_choices": SORT_CHOICES,
        }

    return shell_response(
        request,
        key=key,
        ttl=cache.TTL["category"],
        cache_type="page",
        template="catalog/category.html",
        build_context=build,
        gen_keys=(cache.category_gen_key(current.pk),),
        # A due page is checked against the database (its count and cards) and kept another TTL when they read
        # the same: a wave of category pages expiring together costs a few narrow queries each, not a rebuild.
        # The pages of one filter set (its sorts and pages) due together are checked together.
        revalidation=Revalidation(
            signature_of=lambda context: context["listing"].signature(),
            read_signatures=selectors.read_listing_signatures,
            page=(page := selectors.ListingPageQuery(category_slug=slug, per_page=PER_PAGE, **filters)),
            group=page.filter_set,
            build_fresh_context=partial(build, fresh=True),
        ),
    )


def _price_label(low: Decimal | None, high: Decimal | None) -> str:
    if low is not None and high is not None:
        return f"${low:,.0f} to ${high:,.0f}"
    if low is not None:
        return f"${low:,.0f} and up"
    return f"Under ${high:,.0f}"
