"""Cart reads: the summary grouped by shop, with the rules that make a line buyable.

Two queries whatever the cart size: the lines with their products and shops,
and the other buyers' live holds on those products.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from cart.models import CartItem
from cart.services import get_guest_lines
from catalog.models import Product
from shops.models import Shop

ZERO = Decimal("0.00")


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


def _other_holds(*, product_ids: list[int], user_id: int | None, now: datetime) -> dict[int, datetime]:
    if not product_ids:
        return {}
    holds = CartItem.objects.filter(product_id__in=product_ids, reserved_until__gt=now)
    if user_id is not None:
        holds = holds.exclude(user_id=user_id)
    latest: dict[int, datetime] = {}
    for product_id, until in holds.values_list("product_id", "reserved_until"):
        if product_id not in latest or until > latest[product_id]:
            latest[product_id] = until
    return latest


def _line_problem(product: Product, quantity: int, held_by_other: bool) -> str | None:
    if not (product.is_active and product.shop.is_active):
        return "unavailable"
    if product.quantity <= 0:
        return "sold_out"
    if quantity > product.quantity:
        return "insufficient_stock"
    if held_by_other:
        return "reserved"
    return None


def _summarize(rows: list[tuple[Product, int, datetime | None]], holds: dict[int, datetime], now) -> CartSummary:
    groups: dict[int, ShopGroup] = {}
    for product, quantity, own_hold in rows:
        other_until = holds.get(product.pk)
        problem = _line_problem(product, quantity, other_until is not None)
        unit_price = product.price
        group = groups.setdefault(product.shop_id, ShopGroup(shop=product.shop))
        group.lines.append(
            CartLine(
                product=product,
                quantity=quantity,
                unit_price=unit_price,
                line_total=unit_price * quantity,
                reserved_until=own_hold if own_hold and own_hold > now else None,
                is_available=problem is None,
                problem=problem,
                reserved_by_other_until=other_until,
            )
        )
    for group in groups.values():
        group.subtotal = sum((line.line_total for line in group.lines), ZERO)
        group.shipping = group.shop.shipping_for(item_count=group.item_count, subtotal=group.subtotal)
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

    A signed-in user's cart comes from the database; otherwise the session's guest cart.
    """
    now = timezone.now()
    if user is not None and user.is_authenticated:
        items = list(
            CartItem.objects.filter(user=user).select_related("product__shop").order_by("added_at", "id")
        )
        rows = [(item.product, item.quantity, item.reserved_until) for item in items]
        user_id = user.pk
    else:
        lines = get_guest_lines(session=session) if session is not None else {}
        products = Product.objects.select_related("shop").in_bulk(list(lines)) if lines else {}
        rows = [(products[pid], qty, None) for pid, qty in lines.items() if pid in products]
        user_id = None
    holds = _other_holds(product_ids=[product.pk for product, _, _ in rows], user_id=user_id, now=now)
    return _summarize(rows, holds, now)


def count_cart_items(*, user=None, session=None) -> int:
    """Return the number of units in the cart (the header badge)."""
    if user is not None and user.is_authenticated:
        return CartItem.objects.filter(user=user).aggregate(n=Sum("quantity"))["n"] or 0
    if session is None:
        return 0
    return sum(get_guest_lines(session=session).values())


def list_cart_lines_for_checkout(*, user) -> list[CartItem]:
    """Return the buyer's cart lines with product and shop, in product-id order."""
    return list(CartItem.objects.filter(user=user).select_related("product__shop").order_by("product_id"))
