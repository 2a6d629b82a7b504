"""The product page: a cached shell (``catalog.shells``) with the visitor's buy box and blocks filled in.

Also the buy box's price-and-stock line for one combination of options, and the page again with a refused choice.
"""

from __future__ import annotations

from functools import partial

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from catalog import extensions, personalization, selectors
from catalog.exceptions import ProductNotFound
from catalog.shells import (
    SignedCopyCheck,
    base_holes,
    favorite_ids_of,
    has_session,
    known_personal,
    personal_keys,
    shell_request,
    signed_in_user_id,
)
from catalog.views.buy_box import BuyerChoice, buy_box, choice_context, held_for_other, page_product
from etsy import cache, metrics
from shops.selectors import get_shop_card


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
    holes["buy_box"] = buy_box(request, record["product"], inventory, favorite_ids_of(request), choice=choice, **errors)
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
        **choice_context(
            selectors.get_listing_choices(product=product).with_live_stock(inventory),
            BuyerChoice.from_data(request.GET),
            held_for_other=held_for_other(inventory, signed_in_user_id(request)),
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
                ProductPageCheck(shell_request(request), pk, record),
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
    holes["buy_box"] = buy_box(request, record["product"], inventory, favorite_ids, choice=choice)
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
    cache.add_to_set(cache.shop_pages_key(product.shop_id), cache.product_page_key(pk), ttl=SHOP_PAGES_TTL)
    slim = page_product(product)
    record = {
        "html": html,
        "slug": product.slug,
        "category_id": product.category_id,
        "shop_id": product.shop_id,
        "product": slim,
        "fresh_until": cache.fresh_until(cache.TTL["page"]),
        # What the page shows, for the refresher's check when it is due (``ProductPageCheck``).
        "signature": selectors.product_page_signature(**context, choices=slim.choices),
    }
    if store:
        cache.set_with_grace(cache.product_page_key(pk), record, ttl=cache.TTL["page"])
    return record


SHOP_PAGES_TTL = 2 * cache.TTL["page"]


class ProductPageCheck(SignedCopyCheck):
    """The refresher's check of a due product page record against the database (no rendering).

    Kept another TTL when the database still reads the signature it carries; else the cached records behind its
    changed parts (the listing, its choices, its shop, the shop's reviews, the category tree, the similar cards)
    are dropped and the page rebuilt, so a copy stamped fresh now shows data read now. A listing nobody may see
    any more drops its page. The due pages pending together are read together (``read_product_page_signatures``).
    """

    def __init__(self, request: HttpRequest, pk: int, record: dict):
        super().__init__(
            key=cache.product_page_key(pk),
            signature=record.get("signature"),
            ttl=cache.TTL["page"],
            read_signatures=selectors.read_product_page_signatures,
            page=pk,
            group="product pages",
        )
        self.request, self.pk, self.record = request, pk, record

    def stamped(self) -> dict:
        return {**self.record, "fresh_until": cache.fresh_until(self.ttl)}

    def on_kept(self, checks: list[ProductPageCheck]) -> None:
        # A kept page stays one of its shop's pages, which shop edits drop (its set outlives two of the page's TTLs).
        members = [(cache.shop_pages_key(check.record["shop_id"]), check.key) for check in checks]
        cache.add_many_to_sets(members, ttl=SHOP_PAGES_TTL)

    def rebuild_changed(self, signature_now) -> None:
        if signature_now is not None:
            changed = selectors.changed_parts(self.signature, signature_now)
        else:  # nobody may see the listing now (its cached record may not know yet); a record from before
            changed = ["product"] if self.signature is not None else []  # signatures is rebuilt as it was
        _forget_records_behind(self.pk, self.record, changed)
        _refresh_product_page_record(self.request, self.pk)


def _forget_records_behind(pk: int, record: dict, parts: list[str]) -> None:
    """Drop the cached records the page's ``parts`` (``selectors.PAGE_PARTS``) were built from."""
    shop_id = record["shop_id"]
    keys = {
        "product": [cache.product_key(pk), cache.inventory_key(pk)],
        "choices": [cache.product_choices_key(pk)],
        "shop": [cache.shop_key(shop_id)],
        "reviews": [cache.shop_reviews_key(shop_id)],
        # The tree read since the page was built names another category than the database: it is out of date.
        "breadcrumb": [cache.CATEGORY_TREE_KEY, cache.CATEGORY_TREE_BUILD_KEY],
    }
    if "product" in parts:  # the listing may have moved to another category: the tree is checked again next time
        keys.pop("breadcrumb")
    dropped = [key for part in parts for key in keys.get(part, ())]
    if "similar" in parts and (candidates := cache.get(cache.similar_key(pk), cache_type="similar")):
        dropped += [cache.product_key(similar_id) for similar_id in candidates[0]]
    if dropped:
        cache.delete(*dropped)


def _refresh_product_page_record(request: HttpRequest, pk: int) -> None:
    """Rebuild a stale product page with the stock as it is now (the refresher runs this after the response)."""
    try:
        _build_product_page_record(request, pk, selectors.get_inventory(product_id=pk))
    except ProductNotFound:
        cache.delete(cache.product_page_key(pk))
