"""Cart reads: the summary grouped by shop, with the rules that make a line buyable.

Everything comes from caches kept honest by events: the buyer's lines (written through on
every change), product cards (dropped when a listing changes or sells), stock and holds
(30 s, dropped on every sale and cart hold) and shops. A cold cart costs five queries
whatever its size (four when only its lines are cached); a warm one none.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from django.utils import timezone

from cart.caching import cart_read_keys, count_cached_items, list_cached_lines
from cart.models import CartItem, EndedHold
from cart.services import get_guest_lines
from catalog.models import Product
from catalog.selectors import OfferingStock, get_inventories, get_product_cards
from etsy import cache, near_cache
from shops.models import Shop
from shops.selectors import list_shop_cards

ZERO = Decimal("0.00")
UNCHARGED_PROBLEMS = ("sold_out", "unavailable")


def cart_version(lines: Iterable[tuple[int, str, int, Decimal]], total: Decimal) -> str:
    """Return the version of a cart as the buyer saw it: its charged lines ``(offering id, personalisation
    text, quantity, unit price)`` and total. Checkout compares it with the cart it is about to charge."""
    rows = sorted((int(oid), str(text), int(qty), f"{price:.2f}") for oid, text, qty, price in lines)
    text = json.dumps([rows, f"{total:.2f}"], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass
class CartLine:
    product: Product
    quantity: int
    unit_price: Decimal
    line_total: Decimal
    reserved_until: datetime | None  # the buyer's own live hold, None when there is none
    is_available: bool
    problem: str | None = None  # "unavailable", "sold_out", "insufficient_stock", "reserved"
    reserved_by_other_until: datetime | None = None
    available: int = 0  # units of the offering in stock as the page was built
    line_id: int = 0  # the cart line's id (a guest line's own number): what update and remove name
    offering_id: int | None = None
    options_label: str = ""  # "Size: 7, Metal: Silver"; empty for a listing without variations
    sku: str = ""
    personalization: str = ""

    @property
    def counts_toward_total(self) -> bool:
        """Whether the line is charged at checkout: sold-out and withdrawn lines are not."""
        return self.problem not in UNCHARGED_PROBLEMS


@dataclass
class ShopGroup:
    shop: Shop
    lines: list[CartLine] = field(default_factory=list)
    subtotal: Decimal = ZERO
    shipping: Decimal = ZERO
    total: Decimal = ZERO

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def charged_count(self) -> int:
        return sum(line.quantity for line in self.lines if line.counts_toward_total)


@dataclass
class CartSummary:
    groups: list[ShopGroup]
    subtotal: Decimal
    shipping: Decimal
    total: Decimal
    item_count: int
    is_empty: bool

    @property
    def has_problems(self) -> bool:
        return any(not line.is_available for group in self.groups for line in group.lines)

    @property
    def charged_groups(self) -> list[ShopGroup]:
        """The shops that get an order at checkout (at least one line that is charged)."""
        return [g for g in self.groups if g.charged_count]

    @property
    def version(self) -> str:
        """The cart's version (``cart_version``) as this summary shows it."""
        lines = [
            (line.offering_id or 0, line.personalization, line.quantity, line.unit_price)
            for group in self.groups
            for line in group.lines
            if line.counts_toward_total
        ]
        return cart_version(lines, self.total)


def _line_problem(
    product: Product,
    shop: Shop | None,
    offering: OfferingStock | None,
    quantity: int,
    held_by_other: bool,
    user_id: int | None,
) -> str | None:
    if shop is None or not product.is_listed_for(user_id, shop=shop) or offering is None or not offering.is_enabled:
        return "unavailable"
    if offering.quantity <= 0:
        return "sold_out"
    if quantity > offering.quantity:
        return "insufficient_stock"
    if held_by_other:
        return "reserved"
    return None


class Row(NamedTuple):
    """One cart line to summarize, signed-in (``cart.caching.StoredLine``) or guest (``GuestLine``)."""

    line_id: int
    product_id: int
    offering_id: int | None
    personalization: str
    quantity: int
    reserved_until: datetime | None = None


def _summarize(rows: list[Row], *, user_id: int | None, shop_ids: Iterable[int] = ()) -> CartSummary:
    """Group the lines by shop, reading products, stock (per offering) and shops from their caches.

    With the lines' ``shop_ids`` known (a signed-in buyer's cached lines name them), the three
    caches are read in one round trip; misses are fetched as usual.
    """
    now = timezone.now()
    product_ids = list(dict.fromkeys(row.product_id for row in rows))
    found = None
    if shop_ids:
        keys = (
            [cache.product_key(pid) for pid in product_ids]
            + [cache.inventory_key(pid) for pid in product_ids]
            + [cache.shop_key(sid) for sid in dict.fromkeys(shop_ids)]
        )
        # This process's near copies when it has them (shared by requests: read, never changed here).
        found = cache.read_with(keys, near_keys=near_cache.tracked(keys))
    products = get_product_cards(product_ids=product_ids, found=found)
    inventories = get_inventories(product_ids=[pid for pid in product_ids if pid in products], found=found)
    shops = list_shop_cards(shop_ids=sorted({p.shop_id for p in products.values()}), found=found)
    groups: dict[int, ShopGroup] = {}
    for row in rows:
        product = products.get(row.product_id)
        if product is None:  # deleted since the line was read
            continue
        shop = shops.get(product.shop_id)  # the cached product's copy of its shop can be older than this
        inventory = inventories[row.product_id]
        offering_id = row.offering_id
        if offering_id is None and len(inventory.offerings) == 1:  # a line stored before offerings
            offering_id = next(iter(inventory.offerings))
        offering = inventory.get_offering(offering_id)
        other_until = (
            offering.reserved_until if offering is not None and offering.is_reserved_for_other(user_id) else None
        )
        problem = _line_problem(product, shop, offering, row.quantity, other_until is not None, user_id)
        price = offering.price if offering is not None else product.price
        group = groups.setdefault(product.shop_id, ShopGroup(shop=shop if shop is not None else product.shop))
        group.lines.append(
            CartLine(
                product=product,
                quantity=row.quantity,
                unit_price=price,
                line_total=price * row.quantity,
                reserved_until=row.reserved_until if row.reserved_until and row.reserved_until > now else None,
                is_available=problem is None,
                problem=problem,
                reserved_by_other_until=other_until,
                available=max(offering.quantity, 0) if offering is not None else 0,
                line_id=row.line_id,
                offering_id=offering_id,
                options_label=offering.label if offering is not None else "",
                sku=offering.sku if offering is not None else "",
                personalization=row.personalization,
            )
        )
    for group in groups.values():
        # Sold-out and withdrawn lines stay on show (with their problem) but are not charged.
        group.subtotal = sum((line.line_total for line in group.lines if line.counts_toward_total), ZERO)
        group.shipping = group.shop.shipping_for(item_count=group.charged_count, subtotal=group.subtotal)
        group.total = group.subtotal + group.shipping
    ordered = sorted(groups.values(), key=lambda g: (g.shop.name, g.shop.pk))
    subtotal = sum((g.subtotal for g in ordered), ZERO)
    shipping = sum((g.shipping for g in ordered), ZERO)
    item_count = sum(g.item_count for g in ordered)
    return CartSummary(
        groups=ordered,
        subtotal=subtotal,
        shipping=shipping,
        total=subtotal + shipping,
        item_count=item_count,
        is_empty=not ordered,
    )


def get_cart_summary(*, user=None, session=None) -> CartSummary:
    """Return the cart grouped by shop with Decimal subtotals, shipping and totals.

    A signed-in user's cart comes from its write-through cache (30 minutes), else the
    session's guest cart; products, stock and shops from their own caches. Warm, that is
    no query at all; checkout reads and locks the rows again, so a stale cache never sells.
    """
    return read_cart_page(user=user, session=session)[0]


def read_cart_page(*, user=None, session=None, extra_keys: Iterable[str] = ()) -> tuple[CartSummary, dict]:
    """Return ``get_cart_summary`` and the cached values of the page's ``extra_keys`` (absent: not cached).

    A signed-in buyer's warm cart costs two Redis round trips: the lines with ``extra_keys``,
    then the products, stock and shops they name; none when this process keeps them all
    (``etsy.near_cache``: each is dropped here the moment any process changes it).
    """
    extra_keys = list(extra_keys)
    if user is not None and user.is_authenticated:
        keys = [*cart_read_keys(user.pk), *extra_keys]
        found = cache.read_with(keys, near_keys=near_cache.tracked(keys)) or {}
        lines = list_cached_lines(user_id=user.pk, found=found)
        rows = [
            Row(ln.id, ln.product_id, ln.offering_id, ln.personalization, ln.quantity, ln.reserved_until)
            for ln in lines
        ]
        summary = _summarize(rows, user_id=user.pk, shop_ids=[line.shop_id for line in lines])
        return summary, found
    found = cache.get_many(extra_keys)
    guest = get_guest_lines(session=session) if session is not None else []
    rows = [Row(ln.id, ln.product_id, ln.offering_id, ln.personalization, ln.quantity) for ln in guest]
    return _summarize(rows, user_id=None), found


def count_cart_items(*, user=None, session=None) -> int:
    """Return the number of units in the cart (the header badge; cached with a signed-in buyer's cart)."""
    if user is not None and user.is_authenticated:
        return count_cached_items(user_id=user.pk)
    if session is None:
        return 0
    return sum(line.quantity for line in get_guest_lines(session=session))


def is_in_guest_cart(*, session, product_id: int) -> bool:
    """Return whether a guest's cart (kept in their session) has this product."""
    return any(line.product_id == product_id for line in get_guest_lines(session=session))


def has_cart_line(*, user, line_id: int) -> bool:
    """Return whether the line is in the buyer's cart, from the database (writes decide on this)."""
    return CartItem.objects.filter(user=user, pk=line_id).exists()


def get_cart_line(*, user, line_id: int) -> CartItem | None:
    """Return the buyer's cart line, from the database, or None."""
    return (
        CartItem.objects.filter(user=user, pk=line_id)
        .select_related("offering__option1__variation", "offering__option2__variation")
        .first()
    )


def list_cart_lines_for_checkout(*, user) -> list[CartItem]:
    """Return the buyer's cart lines with listing, shop and offering, in listing then offering order."""
    return list(
        CartItem.objects.filter(user=user)
        .select_related("product__shop", "offering")
        .order_by("product_id", "offering_id", "id")
    )


@dataclass(frozen=True)
class EndedHoldNotice:
    product: Product
    ended_at: datetime
    can_add_again: bool  # still listed, in stock and nobody else holds it
    reason: str = EndedHold.Reason.HOLD_ENDED  # or OPTION_REMOVED: the shop no longer offers the chosen option


def list_ended_holds(*, user) -> list[EndedHoldNotice]:
    """Return the buyer's holds that ran out and took their line out of the cart, oldest first.

    Also the lines the shop took out by removing the option (size, colour...) they were for. An ended hold
    whose product is back in the cart since is left out; ``can_add_again`` says whether the item can be
    put back now (listed, in stock, not held by another buyer).
    """
    rows = list(
        EndedHold.objects.filter(user=user)
        .exclude(
            reason=EndedHold.Reason.HOLD_ENDED,
            product_id__in=CartItem.objects.filter(user=user).values("product_id"),
        )
        .values_list("product_id", "ended_at", "reason")
    )
    if not rows:
        return []
    products = get_product_cards(product_ids=[pid for pid, _, _ in rows])
    inventories = get_inventories(product_ids=[pid for pid, _, _ in rows if pid in products])
    notices = []
    for product_id, ended_at, reason in rows:
        product = products.get(product_id)
        if product is None:
            continue
        inventory = inventories[product_id]
        buyable = product.is_listed_for(user.pk) and not inventory.is_sold_out
        notices.append(
            EndedHoldNotice(
                product=product,
                ended_at=ended_at,
                can_add_again=buyable and not inventory.is_reserved_for_other(user.pk),
                reason=reason,
            )
        )
    return notices
