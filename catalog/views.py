"""Buyer pages of the catalog: home feed, category listings, product page, favorites.

Hot pages are served from cached page shells with the visitor's blocks filled in
(``catalog.shells``).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from functools import lru_cache, partial
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils._os import safe_join
from django.views.decorators.http import require_POST

from catalog import extensions, personalization, selectors
from catalog.exceptions import (
    CategoryNotFound,
    OfferingNotFound,
    OfferingUnavailable,
    PersonalizationError,
    ProductNotFound,
)
from catalog.models import PERSONALIZATION_LIMIT
from catalog.services import favorites as favorite_services
from catalog.shells import (
    Revalidation,
    base_holes,
    cart_count,
    favorite_ids_of,
    has_session,
    known_personal,
    personal_keys,
    render_personal,
    shell_request,
    shell_response,
    signed_in_user_id,
)
from catalog.templatetags.shop_tags import money
from etsy import cache, metrics
from etsy.exceptions import DomainError
from shops.selectors import get_shop_card

PER_PAGE = 24
MAX_PAGE = 400  # deep pages of a 100k catalog are for search, not for browsing
SORT_CHOICES = [
    ("newest", "Newest"),
    ("popular", "Most loved"),
    ("price_asc", "Price: low to high"),
    ("price_desc", "Price: high to low"),
]

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


def _decimal_param(raw: str | None) -> Decimal | None:
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() and value >= 0 else None


def _int_param(raw: str | None, default: int = 1) -> int:
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
        "price_min": _decimal_param(request.GET.get("min")),
        "price_max": _decimal_param(request.GET.get("max")),
        "vintage": vintage,
        "ordering": ordering,
        "page": _int_param(request.GET.get("page")),
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
        revalidation=Revalidation(
            signature_of=lambda context: context["listing"].signature(),
            read_signature=partial(selectors.read_listing_signature, category_slug=slug, per_page=PER_PAGE, **filters),
            build_fresh_context=partial(build, fresh=True),
        ),
    )


def _price_label(low: Decimal | None, high: Decimal | None) -> str:
    if low is not None and high is not None:
        return f"${low:,.0f} to ${high:,.0f}"
    if low is not None:
        return f"${low:,.0f} and up"
    return f"Under ${high:,.0f}"


# --- product ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuyerChoice:
    """What the buyer put in the buy box (options, personalisation text, quantity), kept when refused."""

    option_ids: tuple[int, ...] = ()
    personalization: str = ""
    quantity: int = 1

    @classmethod
    def from_data(cls, data) -> BuyerChoice:
        """Read the add-to-cart form's fields (or a page link's ``?options=``); bad values are dropped."""
        option_ids = []
        for raw in data.getlist("options"):
            try:
                option_ids.append(int(raw))
            except (TypeError, ValueError):
                continue
        try:
            quantity = max(1, min(int(data.get("quantity", 1)), 999))
        except (TypeError, ValueError):
            quantity = 1
        # Kept as typed (a refused form shows it again); the cart's rule checks its length.
        text = str(data.get("personalization", ""))[: PERSONALIZATION_LIMIT + 1]
        return cls(option_ids=tuple(option_ids), personalization=text, quantity=quantity)


def buy_box_errors(exc: DomainError) -> dict[str, str]:
    """Where the buy box shows a refusal: beside the selects, the personalisation box, or above the button."""
    if isinstance(exc, OfferingNotFound | OfferingUnavailable):
        return {"choice_error": exc.message}
    if isinstance(exc, PersonalizationError):
        return {"personalization_error": exc.message}
    return {"error": exc.message}


def _buy_box(
    request: HttpRequest,
    product,
    inventory,
    favorite_ids,
    *,
    notice: str = "",
    error: str = "",
    choice: BuyerChoice | None = None,
    choice_error: str = "",
    personalization_error: str = "",
) -> str:
    user_id = signed_in_user_id(request)
    product = replace(product, choices=product.choices.with_live_stock(inventory))
    # A listing's own hold is its one piece's; with variations holds are per offering, said on the choice's line.
    plain = not product.choices.has_variations
    reserved_for_other = plain and inventory.is_reserved_for_other(user_id)
    held_by_me = plain and inventory.is_held_by(user_id)
    # A guest's one-of-a-kind piece is not held: their session's cart says it is theirs to check out.
    in_guest_cart = (
        user_id is None
        and plain
        and inventory.is_unique
        and has_session(request)
        and extensions.is_in_guest_cart(session=request.session, product_id=product.pk)
    )
    is_favorite = product.pk in favorite_ids.product_ids
    personal = held_by_me or in_guest_cart or notice or error or choice_error or personalization_error
    if not personal and choice is None:
        # Without the buyer's own hold (a ticking countdown) or their refused choice the box depends only on
        # the listing (its choices), the stock and the favorite flag: rendered once per state, the CSRF token
        # filled later.
        return _stock_buy_box(product, inventory.quantity, reserved_for_other, inventory.reserved_until, is_favorite)
    return render_personal(
        request,
        "buy_box",
        {
            "product": product,
            "inventory": inventory,
            "reserved_for_other": reserved_for_other,
            "held_by_me": held_by_me,
            "in_guest_cart": in_guest_cart,
            "is_favorite": is_favorite,
            "notice": notice,
            "error": error,
            **_choice_context(
                product.choices,
                choice,
                choice_error=choice_error,
                error=error,
                held_for_other=_held_for_other(inventory, user_id),
            ),
            "personalization_error": personalization_error,
        },
    )


def _held_for_other(inventory, user_id: int | None):
    """Whether an offering's one piece is in another buyer's cart right now (its live hold)."""

    def held(offering_id: int) -> bool:
        stock = inventory.get_offering(offering_id)
        return stock is not None and stock.is_reserved_for_other(user_id)

    return held


def _choice_context(
    choices: selectors.ListingChoices,
    choice: BuyerChoice | None,
    *,
    choice_error: str = "",
    error: str = "",
    held_for_other=lambda offering_id: False,
) -> dict:
    """What the buy box and its price-and-stock line show for the buyer's choice (None: nothing chosen yet).

    A combination the page knows cannot be bought is said beside the selects, in the page's words, and
    stands for a stock refusal of the add (``error``) rather than repeating it above the button.
    """
    choice = choice or BuyerChoice()
    state, offering = choices.find(choice.option_ids) if choices.has_variations else (None, None)
    if state == selectors.ChoiceState.AVAILABLE and held_for_other(offering.pk):
        state = selectors.ChoiceState.RESERVED
    if choice.option_ids and state in selectors.CHOICE_MESSAGES:
        choice_error = choice_error or selectors.CHOICE_MESSAGES[state]
        error = ""
    chosen = choices.chosen(choice.option_ids)
    return {
        "choices": choices,
        "choice": choice,
        "selects": [
            {
                "property": prop,
                "options": [
                    {"pk": option.pk, "label": _option_label(choices, option), "selected": option.pk == picked}
                    for option in prop.options
                ],
            }
            for prop, picked in zip(choices.properties, chosen, strict=True)
        ],
        "choice_state": state,
        "offering": offering if state == selectors.ChoiceState.AVAILABLE else None,
        "choice_error": choice_error,
        "error": error,
    }


def _option_label(choices: selectors.ListingChoices, option: selectors.OptionChoice) -> str:
    """An option as its select shows it; with one property the option is the offering, so say its price and stock."""
    if len(choices.properties) != 1:
        return option.value
    state, offering = choices.find((option.pk,))
    if state == selectors.ChoiceState.AVAILABLE:
        has_range = len({o.price for o in choices.offerings if o.is_enabled}) > 1
        return f"{option.value} ({money(offering.price)})" if has_range else option.value
    return f"{option.value} (sold out)" if state == selectors.ChoiceState.SOLD_OUT else f"{option.value} (unavailable)"


@lru_cache(maxsize=4096)
def _stock_buy_box(
    product: PageProduct, quantity: int, reserved_for_other: bool, reserved_until, is_favorite: bool
) -> str:
    from catalog.selectors import Inventory

    inventory = Inventory(quantity=quantity, reserved_until=reserved_until if reserved_for_other else None)
    return render_to_string(
        "personal/buy_box.html",
        {
            "product": product,
            "inventory": inventory,
            "reserved_for_other": reserved_for_other,
            "held_by_me": False,
            "is_favorite": is_favorite,
            "csrf_token": cache.CSRF_MARKER,
            **_choice_context(product.choices, None),
        },
    )


def render_buy_box(request: HttpRequest, product_id: int, *, notice: str = "", error: str = "", **refused) -> str:
    """The buy box alone (htmx answers after add to cart), with the header badge swapped out of band.

    ``refused``: the buyer's ``choice`` and ``choice_error`` / ``personalization_error`` (``buy_box_errors``).
    """
    product = selectors.get_product_detail(product_id=product_id)
    inventory = selectors.get_inventory(product_id=product_id)
    box = _buy_box(
        request, _page_product(product), inventory, favorite_ids_of(request), notice=notice, error=error, **refused
    )
    badge = render_personal(request, "cart_badge", {"cart_count": cart_count(request), "oob": True})
    return cache.fill_shell(box + badge, {}, partial(cache.csrf_token, request))


def render_refused_choice(
    request: HttpRequest, product_id: int, *, choice: BuyerChoice, errors: dict[str, str]
) -> HttpResponse:
    """The product page again (400) with the buyer's refused choice and text kept and the reason beside its field.

    ``errors``: ``buy_box_errors`` of the refusal. Raises Http404 for a listing nobody may see.
    """
    inventory = selectors.get_inventory(product_id=product_id)
    try:
        record = _product_page_record(request, product_id, inventory)
    except ProductNotFound:
        raise Http404("No such listing") from None
    holes = base_holes(request)
    holes["buy_box"] = _buy_box(
        request, record["product"], inventory, favorite_ids_of(request), choice=choice, **errors
    )
    return HttpResponse(cache.fill_shell(record["html"], holes, partial(cache.csrf_token, request)), status=400)


def choice_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The price-and-stock line of one combination of options (htmx, as the buyer changes a select).

    Answers the line and, out of band, the page's price; unknown or foreign option ids read as unchosen.
    """
    try:
        product = selectors.get_product_detail(product_id=pk)
    except ProductNotFound:
        raise Http404("No such listing") from None
    inventory = selectors.get_inventory(product_id=pk)
    context = {
        "product": product,
        "inventory": inventory,
        "oob_price": True,
        **_choice_context(
            selectors.get_listing_choices(product=product).with_live_stock(inventory),
            BuyerChoice.from_data(request.GET),
            held_for_other=_held_for_other(inventory, signed_in_user_id(request)),
        ),
    }
    return render(request, "catalog/_choice_status.html", context)


def product_detail(request: HttpRequest, pk: int, slug: str | None = None) -> HttpResponse:
    """The product page: on a warm cache no Redis round trip at all (page, stock, and a signed-in buyer's
    favorites, cart badge and unread count are this process's near copies; the view is sent with others),
    else one pipelined read."""
    user_id = signed_in_user_id(request)
    session_key = request.session.session_key if has_session(request) else None
    page_key, inventory_key = cache.product_page_key(pk), cache.inventory_key(pk)
    keys = [page_key, inventory_key]
    if user_id:
        keys += [cache.favorites_key(user_id), *personal_keys(user_id)]
    found = cache.read_with(keys, near_keys=tuple(keys))
    view_buffered = found is not None
    if view_buffered:  # sent with other views, not in this request
        personalization.buffer_view(product_id=pk, user_id=user_id, session_key=session_key)
    found = found or {}
    inventory = found.get(inventory_key) or selectors.get_inventory(product_id=pk, known_missing=view_buffered)
    record = found.get(page_key)
    try:
        if record is None:
            record = _product_page_record(request, pk, inventory, known_missing=view_buffered)
        else:  # past its freshness, it is rebuilt after the response (this process's refresher); answer with the copy
            cache.refresh_when_stale(
                page_key,
                record.get("fresh_until"),
                partial(_refresh_product_page_record, shell_request(request), pk),
                early=cache.EARLY_REFRESH_SECONDS,
            )
            metrics.cache_hits.labels(cache_type="page").inc()
    except ProductNotFound:
        raise Http404("No such listing") from None
    if slug != record["slug"]:
        return redirect(reverse("catalog:product", kwargs={"pk": pk, "slug": record["slug"]}), permanent=True)
    if view_buffered:
        metrics.product_views.labels(category_id=str(record["category_id"])).inc()
    else:
        personalization.record_product_view(
            product_id=pk, category_id=record["category_id"], user_id=user_id, session_key=session_key
        )
    favorite_ids = found.get(cache.favorites_key(user_id)) if user_id else None
    if favorite_ids is None:
        favorite_ids = favorite_ids_of(request)
    holes = base_holes(request, **known_personal(found, user_id))
    # A link to one combination (?options=…) opens with it chosen, its price and stock shown (no script needed).
    choice = BuyerChoice.from_data(request.GET) if "options" in request.GET else None
    holes["buy_box"] = _buy_box(request, record["product"], inventory, favorite_ids, choice=choice)
    return HttpResponse(cache.fill_shell(record["html"], holes, partial(cache.csrf_token, request)))


def _product_page_record(request: HttpRequest, pk: int, inventory, *, known_missing: bool = False) -> dict:
    """Build (under the stampede lock) and cache the product page shell with what the view needs.

    ``known_missing``: the caller has just read the page key from Redis and found nothing.
    """
    return cache.cache_aside(
        cache.product_page_key(pk),
        partial(_build_product_page_on_request, request, pk, inventory),
        # The record's freshness stamp carries the jitter; Redis keeps it the whole grace minute after the
        # stamp's TTL, as the refresher's copies. Jittered again here, a copy built inline (a warm-up, a
        # miss) could vanish up to 72 s early, before the refresher reached it: a plain miss on a request.
        ttl=cache.TTL["page"] + cache.STALE_GRACE_SECONDS,
        cache_type="page",
        known_missing=known_missing,
        jitter=False,
    )


def _build_product_page_on_request(request: HttpRequest, pk: int, inventory) -> dict:
    """Build the record a request found missing (``cache_aside`` stores it), counted as a request's build."""
    with cache.counting_build(cache.product_page_key(pk), by="request"):
        return _build_product_page_record(request, pk, inventory, store=False)


def _build_product_page_record(request: HttpRequest, pk: int, inventory, *, store: bool = True) -> dict:
    """Render the product page shell; the record is fresh for the page TTL and kept a minute longer.

    Raises ProductNotFound.
    """
    product = selectors.get_product_detail(product_id=pk)
    sold_out = inventory.is_sold_out
    context = {
        "product": product,
        "images": list(product.images.all()),
        "shop": get_shop_card(shop_id=product.shop_id),
        "ancestors": selectors.list_category_ancestors(category=product.category),
        "similar": selectors.list_similar_products(product=product, limit=8, same_shop_first=sold_out),
        "reviews": extensions.list_shop_reviews(shop_id=product.shop_id, limit=3),
        "sold_out": sold_out,
    }
    html = cache.render_shell(request, "catalog/product_detail.html", context)
    # Shop edits (rating, name, shipping) drop every cached page of the shop's products.
    cache.add_to_set(cache.shop_pages_key(product.shop_id), cache.product_page_key(pk), ttl=2 * cache.TTL["page"])
    slim = _page_product(product)
    record = {
        "html": html,
        "slug": product.slug,
        "category_id": product.category_id,
        "shop_id": product.shop_id,
        "product": slim,
        "fresh_until": cache.fresh_until(cache.TTL["page"]),
    }
    if store:
        cache.set_with_grace(cache.product_page_key(pk), record, ttl=cache.TTL["page"])
    return record


def _refresh_product_page_record(request: HttpRequest, pk: int) -> None:
    """Rebuild a stale product page with the stock as it is now (the refresher runs this after the response)."""
    try:
        _build_product_page_record(request, pk, selectors.get_inventory(product_id=pk))
    except ProductNotFound:
        cache.delete(cache.product_page_key(pk))


@dataclass(frozen=True)
class PageProduct:
    """What the buy box needs of a product (kept with the cached page): its choices (selects, personalisation)."""

    pk: int
    title: str
    quantity: int
    choices: selectors.ListingChoices


def _page_product(product) -> PageProduct:
    return PageProduct(
        pk=product.pk,
        title=product.title,
        quantity=product.quantity,
        choices=selectors.get_listing_choices(product=product),
    )


# --- favorites --------------------------------------------------------------------------------


@login_required
def favorites(request: HttpRequest) -> HttpResponse:
    rows = list(selectors.list_favorites(user=request.user))
    return render(
        request,
        "catalog/favorites.html",
        {"products": [f.product for f in rows if f.product_id], "shops": [f.shop for f in rows if f.shop_id]},
    )


def _safe_next(request: HttpRequest, fallback: str) -> str:
    from django.utils.http import url_has_allowed_host_and_scheme

    nxt = request.POST.get("next") or request.META.get("HTTP_REFERER") or ""
    if nxt and url_has_allowed_host_and_scheme(
        nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return nxt
    return fallback


def _set_favorite(request: HttpRequest, *, button: str, target: dict, login_next: str, noun: str) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect(f"{reverse('accounts:login')}?next={login_next}")
    try:
        is_favorite = favorite_services.set_favorite(
            user=request.user, favorite=request.POST.get("action") != "remove", **target
        )
    except DomainError:
        raise Http404(f"No such {noun}") from None
    if getattr(request, "htmx", False):
        context = {next(iter(target)): next(iter(target.values())), "is_favorite": is_favorite}
        return HttpResponse(render_personal(request, button, context))
    what = "Shop" if noun == "shop" else "Listing"
    messages.success(request, f"{what} {'saved to' if is_favorite else 'removed from'} your favorites.")
    return redirect(_safe_next(request, reverse("catalog:favorites")))


@require_POST
def toggle_favorite_product(request: HttpRequest, pk: int) -> HttpResponse:
    login_next = reverse("catalog:product_short", args=[pk])
    return _set_favorite(
        request, button="favorite_button", target={"product_id": pk}, login_next=login_next, noun="listing"
    )


@require_POST
def toggle_favorite_shop(request: HttpRequest, pk: int) -> HttpResponse:
    return _set_favorite(
        request, button="favorite_shop_button", target={"shop_id": pk}, login_next=_safe_next(request, "/"), noun="shop"
    )


# --- media and the benchmark ceiling -------------------------------------------------------------

MEDIA_CACHE_CONTROL = {
    "products": "public, max-age=2592000, immutable",  # product images: 30 days, never change in place
    "shops": "public, max-age=604800",  # shop logos and banners: 7 days
}


def media(request: HttpRequest, path: str) -> HttpResponse:
    """Serve an uploaded file with the documents' cache headers (a CDN would sit in front)."""
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    path = posixpath.normpath(path).lstrip("/")
    try:
        full = Path(safe_join(str(settings.MEDIA_ROOT), path))
    except Exception:
        raise Http404("No such file") from None
    if not full.is_file():
        raise Http404("No such file")
    # FileResponse guesses the type itself and maps a compressed file's encoding to its own type
    # (application/gzip), so a stored .gz is downloaded as it is rather than unpacked by the browser.
    response = FileResponse(full.open("rb"))
    parts = path.split("/")
    kind = "products" if "products" in parts or "thumbs" in parts else "shops" if "shops" in parts else None
    response["Cache-Control"] = MEDIA_CACHE_CONTROL.get(kind, "public, max-age=86400")
    return response


def bare(request: HttpRequest) -> HttpResponse:
    """The benchmark's ceiling: the whole middleware stack and nothing else."""
    return HttpResponse(b"ok", content_type="text/plain")
