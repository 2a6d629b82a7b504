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


FONT_SIZE = 11
# Widths of characters as a share of the font size, on the wide side of common sans-serif faces
# (DejaVu Sans, Arial): a label measured with them fits inside the chart in any of those fonts.
_NARROW, _WIDE, _UPPER, _OTHER = set("iljtfrI.,:;'!|() "), set("mwMW@%"), 0.74, 0.64


def text_width(text: str, font_size: int = FONT_SIZE) -> float:
    """Return an upper estimate of ``text``'s rendered width in pixels, for laying out chart labels."""
    units = 0.0
    for ch in text:
        if ch in _NARROW:
            units += 0.36
        elif ch in _WIDE:
            units += 0.98
        elif ch.isupper():
            units += _UPPER
        else:
            units += _OTHER
    return units * font_size


def shorten_label(text: str, max_chars: int = 32) -> str:
    """Return ``text`` cut at a word boundary to at most ``max_chars`` characters, with an ellipsis if cut."""
    text = " ".join(text.split())
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - 1].rsplit(" ", 1)[0].rstrip(" ,;:-–—")
    return f"{cut or text[: max_chars - 1]}…"


def _svg_open(*, title: str, width: int, height: int) -> list[str]:
    title_id = "chart-" + "".join(ch for ch in title.lower() if ch.isalnum())[:40]
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="sales-chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="100%" aria-labelledby="{title_id}" font-size="{FONT_SIZE}">',
        f'<title id="{title_id}">{escape(title)}</title>',
    ]


def render_bar_chart(
    *,
    points: list[tuple[str, float | Decimal | int]],
    title: str,
    value_format: str = "{}",
    width: int = 720,
    height: int = 180,
) -> SafeString:
    """An accessible inline SVG bar chart of ``points`` (label, value); every text is escaped.

    The value axis is as wide as its longest label and the first and last day labels are anchored
    inside the plot, so no label is clipped at either edge.
    """
    pad_bottom, pad_top, pad_right = 24, 12, 8
    top = max((float(v) for _, v in points), default=0.0) or 1.0
    top_label = value_format.format(_trim(top))
    pad_left = int(max(text_width(top_label), text_width("0")) + 12)
    plot_w, plot_h = width - pad_left - pad_right, height - pad_bottom - pad_top
    n = max(len(points), 1)
    slot = plot_w / n
    bar_w = min(max(slot * 0.7, 1.0), 48.0)
    parts = [
        *_svg_open(title=title, width=width, height=height),
        f'<line x1="{pad_left}" y1="{pad_top + plot_h}" x2="{width - pad_right}" y2="{pad_top + plot_h}" '
        'stroke="#888"/>',
        f'<text x="{pad_left - 6}" y="{pad_top + 10}" text-anchor="end">{escape(top_label)}</text>',
        f'<text x="{pad_left - 6}" y="{pad_top + plot_h}" text-anchor="end">0</text>',
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
        parts.append(f'<text x="{pad_left}" y="{height - 6}" text-anchor="start">{escape(str(points[0][0]))}</text>')
        if len(points) > 1:
            parts.append(
                f'<text x="{width - pad_right}" y="{height - 6}" text-anchor="end">{escape(str(points[-1][0]))}</text>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))


def render_ranking_chart(
    *, points: list[tuple[str, float | Decimal | int]], title: str, value_format: str = "{}", width: int = 720
) -> SafeString:
    """An accessible inline SVG chart of horizontal bars, one row per ``points`` (label, value).

    Each label is written in full up to a word boundary (then an ellipsis), in a column as wide as
    the longest one; the value follows its bar inside the chart.
    """
    row_h, pad = 24, 8
    labels = [shorten_label(str(label)) for label, _ in points]
    values = [value_format.format(_trim(value)) for _, value in points]
    label_w = max((text_width(label) for label in labels), default=0.0) + 12
    value_w = max((text_width(value) for value in values), default=0.0) + 8
    plot_w = max(width - pad - label_w - value_w, 40.0)
    height = max(len(points), 1) * row_h + 2 * pad
    top = max((float(v) for _, v in points), default=0.0) or 1.0
    parts = _svg_open(title=title, width=width, height=height)
    for i, ((label, value), short, shown) in enumerate(zip(points, labels, values, strict=True)):
        y = pad + i * row_h
        bar = plot_w * float(value) / top
        parts += [
            f'<text x="{pad + label_w - 8:.1f}" y="{y + 16}" text-anchor="end">{escape(short)}</text>',
            f'<rect x="{pad + label_w:.1f}" y="{y + 5}" width="{bar:.1f}" height="{row_h - 10}" fill="#d5641c">'
            f"<title>{escape(str(label))}: {escape(shown)}</title></rect>",
            f'<text x="{pad + label_w + bar + 4:.1f}" y="{y + 16}" text-anchor="start">{escape(shown)}</text>',
        ]
    if not points:
        parts.append(f'<text x="{pad}" y="{pad + 16}" text-anchor="start">No listings yet</text>')
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
        "views": render_ranking_chart(
            points=[(f.title, f.views) for f in stats.top_by_views], title="Top listings by views"
        ),
    }
