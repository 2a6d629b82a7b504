"""The cart page, rendered from a view model of plain values and reused while the model is equal.

A cart page is the buyer's lines with the prices, stock and holds read for this request
(``cart.selectors.read_cart_page``). Its content is a pure function of those values: this
module turns the summary into a hashable view model (what the template shows, nothing else)
and keeps each process's last renderings by model, so a cart that has not changed is not
rendered again, and one that has (a price, the stock, a hold's minute) gets a model of its own.
The layout around it (header, category navigation, footer) is a page shell kept per build of
the category tree, with holes for the visitor's header and messages and for the content.
"""

from __future__ import annotations

import threading
from datetime import datetime
from decimal import Decimal
from functools import lru_cache, partial
from typing import NamedTuple

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.timesince import timeuntil

from cart.models import EndedHold
from cart.selectors import CartSummary, EndedHoldNotice
from catalog.shells import base_holes
from catalog.templatetags.shop_tags import product_image
from etsy import cache

CONTENT_HOLE = "cart"


class LineView(NamedTuple):
    pk: int  # the listing's
    line_id: int  # the cart line's (a guest line's own number): what update and remove name
    options: str  # "Size: 7, Metal: Silver"
    personalization: str
    title: str
    url: str
    image: str
    made_for_you: bool
    is_unique: bool
    quantity: int
    unit_price: Decimal
    line_total: Decimal
    counts_toward_total: bool
    is_available: bool
    problem: str | None
    available: int
    held_until: int | None  # the buyer's own hold, as a Unix time (the countdown)
    held_for: str  # and as words, to the minute


class GroupView(NamedTuple):
    shop_pk: int
    shop_name: str
    shop_url: str
    lines: tuple[LineView, ...]
    subtotal: Decimal
    shipping: Decimal
    total: Decimal


class NoticeView(NamedTuple):
    pk: int
    title: str
    url: str
    can_add_again: bool
    option_removed: bool  # the shop no longer offers the option chosen (else the hold ran out)


class CartView(NamedTuple):
    groups: tuple[GroupView, ...]
    charged_groups: tuple[int, ...]  # the shops that get an order (``cart/_shops_note.html`` counts them)
    item_count: int
    subtotal: Decimal
    shipping: Decimal
    total: Decimal
    is_empty: bool
    notices: tuple[NoticeView, ...]


_PRODUCT_PARTS_KEPT = 4096
_product_parts: dict[tuple, tuple[str, str]] = {}  # what a line shows of its listing, by what that depends on


def _link_and_image(product) -> tuple[str, str]:
    """The line's link and picture: reversing the URL and building the <picture> cost more than the rest of a
    line, and depend only on the listing's slug, title, reservation and cover photo, so each process keeps them."""
    images = list(product.images.all())
    cover = images[0] if images else None
    photo = (cover.image.name, cover.thumbnail.name, cover.width, cover.height, cover.alt_text) if cover else None
    key = (product.pk, product.slug, product.title, product.reserved_for_id, photo)
    parts = _product_parts.get(key)
    if parts is None:
        url = "/messages/" if product.reserved_for_id else product.get_absolute_url()
        parts = (url, product_image(product))
        if len(_product_parts) >= _PRODUCT_PARTS_KEPT:
            _product_parts.clear()
        _product_parts[key] = parts
    return parts


_shop_urls: dict[tuple[int, str], str] = {}


def _shop_url(shop) -> str:
    url = _shop_urls.get((shop.pk, shop.slug))
    if url is None:
        if len(_shop_urls) >= _PRODUCT_PARTS_KEPT:
            _shop_urls.clear()
        url = _shop_urls[(shop.pk, shop.slug)] = shop.get_absolute_url()
    return url


def _line_view(line, now: datetime) -> LineView:
    product = line.product
    held = line.reserved_until
    url, image = _link_and_image(product)
    return LineView(
        pk=product.pk,
        line_id=line.line_id,
        options=line.options_label,
        personalization=line.personalization,
        title=product.title,
        url=url,
        image=image,
        made_for_you=bool(product.reserved_for_id),
        is_unique=line.available == 1,  # the offering's one piece: held, no quantity to change
        quantity=line.quantity,
        unit_price=line.unit_price,
        line_total=line.line_total,
        counts_toward_total=line.counts_toward_total,
        is_available=line.is_available,
        problem=line.problem,
        available=line.available,
        held_until=int(held.timestamp()) if held else None,
        held_for=timeuntil(held, now) if held else "",
    )


def cart_view(summary: CartSummary, ended: list[EndedHoldNotice]) -> CartView:
    """Return the view model of the cart page: every value its content shows."""
    now = timezone.now()
    return CartView(
        groups=tuple(
            GroupView(
                shop_pk=group.shop.pk,
                shop_name=group.shop.name,
                shop_url=_shop_url(group.shop),
                lines=tuple(_line_view(line, now) for line in group.lines),
                subtotal=group.subtotal,
                shipping=group.shipping,
                total=group.total,
            )
            for group in summary.groups
        ),
        charged_groups=tuple(group.shop.pk for group in summary.charged_groups),
        item_count=summary.item_count,
        subtotal=summary.subtotal,
        shipping=summary.shipping,
        total=summary.total,
        is_empty=summary.is_empty,
        notices=tuple(
            NoticeView(
                pk=n.product.pk,
                title=n.product.title,
                url=n.product.get_absolute_url(),
                can_add_again=n.can_add_again,
                option_removed=n.reason == EndedHold.Reason.OPTION_REMOVED,
            )
            for n in ended
        ),
    )


@lru_cache(maxsize=512)
def render_content(view: CartView) -> str:
    """The page's content for ``view`` (CSRF token left as a marker): a pure function of the model."""
    return render_to_string(
        "cart/_body.html", {"cart": view, "ended_holds": view.notices, "csrf_token": cache.CSRF_MARKER}
    )


_layouts: dict[str, str] = {}  # category tree build id -> layout shell
_layouts_lock = threading.Lock()


def _layout(request: HttpRequest, tree_build) -> str:
    """The layout shell; kept while the category tree (the only shared data it shows) is the same build."""
    if tree_build is not None and (kept := _layouts.get(str(tree_build))) is not None:
        return kept
    shell = cache.render_shell(request, "cart/cart.html", {})
    if tree_build is not None:
        with _layouts_lock:
            _layouts.clear()
            _layouts[str(tree_build)] = shell
    return shell


def layout_keys() -> list[str]:
    """The keys ``render_cart_page`` wants read with the cart (``found``)."""
    return [cache.CATEGORY_TREE_BUILD_KEY]


def render_cart_page(
    request: HttpRequest, summary: CartSummary, ended: list[EndedHoldNotice], *, found: dict, unread_key: str | None
) -> str:
    """The whole page: the layout with the visitor's header, messages and the cart's content."""
    holes = base_holes(
        request,
        known_cart_count=summary.item_count,
        known_unread=found.get(unread_key) if unread_key else None,
    )
    holes[CONTENT_HOLE] = render_content(cart_view(summary, ended))
    layout = _layout(request, found.get(cache.CATEGORY_TREE_BUILD_KEY))
    return cache.fill_shell(layout, holes, partial(cache.csrf_token, request))
