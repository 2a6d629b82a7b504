"""Sales figures of one shop for its owner's admin dashboard, and their SVG charts.

Every figure is computed by a fixed number of aggregate queries whatever the shop's size
(no per-listing or per-day queries), and only ever for the shop passed in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from html import escape

from django.db.models import Count, IntegerField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from catalog.models import Favorite, Product
from orders.models import Order, OrderItem

SOLD_STATUSES = (Order.Status.PAID, Order.Status.SHIPPED, Order.Status.DELIVERED)


@dataclass(frozen=True)
class DayFigures:
    day: dt.date
    revenue: Decimal
    orders: int


@dataclass(frozen=True)
class ListingFigures:
    product_id: int
    title: str
    views: int
    favorites: int
    units_sold: int

    @property
    def conversion(self) -> Decimal | None:
        """Units sold per hundred views, or None before the first view."""
        if not self.views:
            return None
        return (Decimal(self.units_sold) * 100 / Decimal(self.views)).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class ShopStats:
    days: list[DayFigures]
    revenue: Decimal
    orders: int
    views: int
    favorites: int
    units_sold: int
    top_by_views: list[ListingFigures]
    top_by_favorites: list[ListingFigures]
    top_by_sales: list[ListingFigures]

    @property
    def conversion(self) -> Decimal | None:
        if not self.views:
            return None
        return (Decimal(self.units_sold) * 100 / Decimal(self.views)).quantize(Decimal("0.01"))


def _listing_figures(shop, *, order_by: str, limit: int) -> list[ListingFigures]:
    units = (
        OrderItem.objects.filter(product=OuterRef("pk"), order__status__in=SOLD_STATUSES)
        .values("product")
        .annotate(n=Sum("quantity"))
        .values("n")
    )
    favorites = (
        Favorite.objects.filter(product=OuterRef("pk"), kind=Favorite.Kind.PRODUCT)
        .values("product")
        .annotate(n=Count("id"))
        .values("n")
    )
    rows = (
        Product.objects.filter(shop=shop)
        .annotate(
            units=Coalesce(Subquery(units, output_field=IntegerField()), Value(0)),
            favs=Coalesce(Subquery(favorites, output_field=IntegerField()), Value(0)),
        )
        .order_by(order_by, "-id")
        .values("pk", "title", "view_count", "favs", "units")[:limit]
    )
    return [
        ListingFigures(
            product_id=r["pk"], title=r["title"], views=r["view_count"], favorites=r["favs"], units_sold=r["units"]
        )
        for r in rows
    ]


def get_shop_stats(*, shop, days: int = 30, today: dt.date | None = None, top: int = 5) -> ShopStats:
    """Revenue and orders per day for the last ``days`` days, totals and top listings of ``shop``."""
    today = today or timezone.localdate()
    start = today - dt.timedelta(days=days - 1)
    sold_at = Coalesce("paid_at", "created_at")
    per_day = {
        row["day"]: row
        for row in Order.objects.filter(shop=shop, status__in=SOLD_STATUSES)
        .annotate(day=TruncDate(sold_at))
        .filter(day__gte=start, day__lte=today)
        .values("day")
        .annotate(revenue=Sum("total"), n=Count("id"))
        .order_by("day")
    }
    series = []
    for i in range(days):
        day = start + dt.timedelta(days=i)
        row = per_day.get(day)
        series.append(
            DayFigures(day=day, revenue=row["revenue"] if row else Decimal("0.00"), orders=row["n"] if row else 0)
        )
    listing_totals = Product.objects.filter(shop=shop).aggregate(views=Coalesce(Sum("view_count"), 0))
    units_sold = OrderItem.objects.filter(order__shop=shop, order__status__in=SOLD_STATUSES).aggregate(
        n=Coalesce(Sum("quantity"), 0)
    )["n"]
    favorites = Favorite.objects.filter(product__shop=shop, kind=Favorite.Kind.PRODUCT).count()
    return ShopStats(
        days=series,
        revenue=sum((d.revenue for d in series), Decimal("0.00")),
        orders=sum(d.orders for d in series),
        views=listing_totals["views"],
        favorites=favorites,
        units_sold=units_sold,
        top_by_views=_listing_figures(shop, order_by="-view_count", limit=top),
        top_by_favorites=_listing_figures(shop, order_by="-favs", limit=top),
        top_by_sales=_listing_figures(shop, order_by="-units", limit=top),
    )


def render_bar_chart(
    *,
    points: list[tuple[str, float | Decimal | int]],
    title: str,
    value_format: str = "{}",
    width: int = 720,
    height: int = 180,
) -> SafeString:
    """An accessible inline SVG bar chart of ``points`` (label, value); every text is escaped."""
    pad_left, pad_bottom, pad_top = 48, 24, 12
    plot_w, plot_h = width - pad_left - 8, height - pad_bottom - pad_top
    top = max((float(v) for _, v in points), default=0.0) or 1.0
    n = max(len(points), 1)
    slot = plot_w / n
    bar_w = min(max(slot * 0.7, 1.0), 48.0)
    title_id = "chart-" + "".join(ch for ch in title.lower() if ch.isalnum())[:40]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="sales-chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="100%" aria-labelledby="{title_id}">',
        f'<title id="{title_id}">{escape(title)}</title>',
        f'<line x1="{pad_left}" y1="{pad_top + plot_h}" x2="{width - 8}" y2="{pad_top + plot_h}" stroke="#888"/>',
        f'<text x="{pad_left - 6}" y="{pad_top + 10}" text-anchor="end" font-size="11">'
        f"{escape(value_format.format(_trim(top)))}</text>",
        f'<text x="{pad_left - 6}" y="{pad_top + plot_h}" text-anchor="end" font-size="11">0</text>',
    ]
    for i, (label, value) in enumerate(points):
        h = plot_h * float(value) / top
        x = pad_left + i * slot + (slot - bar_w) / 2
        y = pad_top + plot_h - h
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="#d5641c">'
            f"<title>{escape(str(label))}: {escape(value_format.format(_trim(value)))}</title></rect>"
        )
    if points:
        for i in (0, len(points) - 1):
            x = pad_left + i * slot + slot / 2
            parts.append(
                f'<text x="{x:.1f}" y="{height - 6}" text-anchor="middle" font-size="11">'
                f"{escape(str(points[i][0]))}</text>"
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))


def _trim(value) -> str:
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, float):
        return f"{value:.2f}" if value % 1 else str(int(value))
    return str(value)


def render_shop_charts(stats: ShopStats) -> dict[str, SafeString]:
    """The dashboard's SVG charts of ``stats``."""
    return {
        "revenue": render_bar_chart(
            points=[(d.day.strftime("%b %d"), d.revenue) for d in stats.days],
            title="Revenue per day, last 30 days",
            value_format="${}",
        ),
        "orders": render_bar_chart(
            points=[(d.day.strftime("%b %d"), d.orders) for d in stats.days], title="Orders per day, last 30 days"
        ),
        "views": render_bar_chart(
            points=[(f.title[:30], f.views) for f in stats.top_by_views], title="Top listings by views", height=160
        ),
    }
