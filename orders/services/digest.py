"""The seller daily digest: yesterday's new orders and favorites, and low stock; once per shop and day.

It reads orders, favorites and stock, so it lives with orders; the once-per-day record (DigestLog) is the
shop's and is claimed through ``shops.services.claim_daily_digest``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import Q

from catalog.models import Favorite, Product
from etsy.emails import send_templated_email
from orders.models import Order
from shops.models import Shop
from shops.services import claim_daily_digest


@dataclass(frozen=True)
class DigestOutcome:
    shop_id: int
    day: dt.date
    sent: bool
    reason: str


def _digest_figures(shop: Shop, day: dt.date) -> dict:
    end = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
    start = end - dt.timedelta(days=1)
    orders = list(
        Order.objects.filter(shop=shop, created_at__gte=start, created_at__lt=end)
        .exclude(status__in=[Order.Status.PENDING_PAYMENT, Order.Status.CANCELLED])
        .select_related("buyer")
        .order_by("created_at")
    )
    favorites = Favorite.objects.filter(created_at__gte=start, created_at__lt=end).filter(
        Q(kind=Favorite.Kind.PRODUCT, product__shop=shop) | Q(kind=Favorite.Kind.SHOP, shop=shop)
    )
    low_stock = list(Product.objects.filter(shop=shop, is_active=True).needs_restock().order_by("quantity", "title"))
    return {
        "orders": orders,
        "revenue": sum((o.total for o in orders), Decimal("0.00")),
        "product_favorites": favorites.filter(kind=Favorite.Kind.PRODUCT).count(),
        "shop_favorites": favorites.filter(kind=Favorite.Kind.SHOP).count(),
        "low_stock": low_stock,
        "since": start,
    }


def send_daily_digest(*, shop_id: int, day: dt.date) -> DigestOutcome:
    """Email ``shop_id``'s owner the digest of the day before ``day``, at most once per shop and day.

    The DigestLog row (unique per shop and day) is claimed first; the email goes out while the
    row is locked and the row is stamped in the same transaction, so a restarted beat or a second
    worker skips it. If sending fails the stamp rolls back and the next run retries.
    """
    shop = Shop.objects.select_related("owner").filter(pk=shop_id, is_active=True).first()
    if shop is None:
        return DigestOutcome(shop_id, day, False, "no such active shop")
    with claim_daily_digest(shop_id=shop_id, day=day) as log:
        if log is None:
            return DigestOutcome(shop_id, day, False, "already sent")
        figures = _digest_figures(shop, day)
        log.new_orders = len(figures["orders"])
        log.new_favorites = figures["product_favorites"] + figures["shop_favorites"]
        log.low_stock = len(figures["low_stock"])
        has_news = bool(log.new_orders or log.new_favorites or log.low_stock)
        if has_news:
            context = {"shop": shop, "day": day, "site_url": getattr(settings, "SITE_URL", ""), **figures}
            send_templated_email(template="seller_daily_digest", to=[shop.owner.email], context=context)
    return DigestOutcome(shop_id, day, has_news, "sent" if has_news else "nothing to report")
