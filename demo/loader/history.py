"""The demo's past: favorites, orders and reviews, and the public figures that must agree with them."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import F

from accounts.models import User
from catalog.models import Favorite, Product
from demo.loader.bulk import BATCH, _without_auto_now
from orders import delivery
from orders.models import Checkout, Order, OrderItem, Review
from shops.models import Shop


def _demo_favorites(*, users: dict[str, User], rng: random.Random, now) -> int:
    """Let each demo buyer favorite a dozen listings and a couple of shops over the last month."""
    buyers = [u for email, u in users.items() if email.startswith("buyer")]
    product_ids = list(Product.objects.filter(quantity__gt=0).values_list("pk", flat=True)[:5000])
    shop_ids = list(Shop.objects.values_list("pk", flat=True))
    if not buyers or not product_ids:
        return 0
    rows, liked = [], Counter()
    for buyer in buyers:
        for product_id in rng.sample(product_ids, min(12, len(product_ids))):
            rows.append(
                Favorite(
                    user=buyer,
                    kind=Favorite.Kind.PRODUCT,
                    product_id=product_id,
                    created_at=now - timedelta(days=rng.uniform(0, 30)),
                )
            )
            liked[product_id] += 1
        for shop_id in rng.sample(shop_ids, min(2, len(shop_ids))):
            rows.append(
                Favorite(
                    user=buyer,
                    kind=Favorite.Kind.SHOP,
                    shop_id=shop_id,
                    created_at=now - timedelta(days=rng.uniform(0, 30)),
                )
            )
    with transaction.atomic(), _without_auto_now(Favorite, "created_at"):
        Favorite.objects.bulk_create(rows, batch_size=BATCH, ignore_conflicts=True)
        by_count: dict[int, list[int]] = defaultdict(list)
        for product_id, count in liked.items():
            by_count[count].append(product_id)
        for count, ids in by_count.items():
            Product.objects.filter(pk__in=ids).update(favorite_count=F("favorite_count") + count)
    return len(rows)


def _choose_sales(
    *, sold: list[Product], stocked: list[Product], targets: dict[int, int], rng: random.Random
) -> list[Product]:
    """Return one entry per unit sold: each sold-out piece once, then units of each shop's stocked listings
    until the shop has about its ``targets`` sales (a shop with nothing stocked has only its sold-out pieces)."""
    sales = list(sold)
    per_shop = Counter(product.shop_id for product in sold)
    pools: dict[int, list[Product]] = defaultdict(list)
    for product in stocked:
        pools[product.shop_id].append(product)
    for shop_id, target in sorted(targets.items()):
        if pools[shop_id]:
            sales += [rng.choice(pools[shop_id]) for _ in range(max(0, target - per_shop[shop_id]))]
    return sales


def _count_sales_and_views(*, shop_ids: list[int], sales: list[Product]) -> None:
    """Make the public figures agree with the demo's orders: a shop's sales are its units sold, and no listing
    has sold more often than it was viewed (a listing is seen about 20 times per sale)."""
    per_shop = Counter(product.shop_id for product in sales)
    per_product = Counter(product.pk for product in sales)
    with transaction.atomic():
        for shop_id in shop_ids:
            Shop.objects.filter(pk=shop_id).update(sales_count=per_shop[shop_id])
        views: dict[int, list[int]] = defaultdict(list)
        for product_id, units in per_product.items():
            views[units * 20].append(product_id)
        for floor, ids in views.items():
            Product.objects.filter(pk__in=ids, view_count__lt=floor).update(view_count=F("view_count") + floor)


def _past_orders(
    *, sales: list[Product], users: dict[str, User], quality: dict[int, Decimal], rng: random.Random, now
) -> tuple[int, int]:
    """Write one order per unit in ``sales``, placed after its listing was listed and never dated in the future.

    An order whose delivery day has come is delivered, most of those with a review written after it arrived
    (scored around the shop's ``quality``); a recent one is still paid or shipped, as in a real seller's queue.
    Each shop's rating and review count are then computed from the reviews written here.
    """
    buyers = [u for email, u in users.items() if email.startswith("buyer")]
    if not sales or not buyers:
        return 0, 0
    comments = [
        "Even more beautiful in person. Thank you!",
        "Arrived quickly and wrapped with care.",
        "Exactly as described, great communication.",
        "Lovely quality, will order again.",
        "Took a while to arrive but worth the wait.",
        "Smaller than I expected, but well made.",
    ]
    shops = {s.id: s for s in Shop.objects.filter(id__in={p.shop_id for p in sales})}
    checkouts, orders, items, reviews = [], [], [], []
    repeat: Counter[int] = Counter()
    for product in sales:
        buyer = rng.choice(buyers)
        shop = shops[product.shop_id]
        shipping = shop.shipping_for(item_count=1, subtotal=product.price)
        # Never before it was listed. A sold-out piece went in the last two months (the sellers' 30-day
        # figures have a history); units of a stocked listing sold over its life, up to a year.
        listed_days = max(0.0, (now - product.created_at).total_seconds() / 86400)
        window = 60.0 if product.quantity == 0 else 365.0
        placed = now - timedelta(days=rng.uniform(0, min(window, listed_days)))
        repeat[product.pk] += 1
        key = f"demo-{product.pk}" if repeat[product.pk] == 1 else f"demo-{product.pk}-{repeat[product.pk]}"
        shipped = placed + timedelta(days=shop.processing_days)
        delivered = shipped + timedelta(days=3)
        if delivered <= now:
            status = Order.Status.DELIVERED
        elif shipped <= now:
            status, delivered = Order.Status.SHIPPED, None
        else:
            status, shipped, delivered = Order.Status.PAID, None, None
        checkout = Checkout(
            buyer=buyer,
            total=product.price + shipping,
            payment_status=Checkout.PaymentStatus.PAID,
            provider_idempotency_key=key,
            provider_charge_id=key.replace("demo-", "demo_ch_"),
            card_last4="4242",
            ship_name=buyer.display_name,
            ship_line1="12 Demo Lane",
            ship_city="Hudson",
            ship_postcode="12534",
            created_at=placed,
        )
        checkouts.append(checkout)
        orders.append(
            Order(
                checkout=checkout,
                buyer=buyer,
                shop=shop,
                subtotal=product.price,
                shipping=shipping,
                total=product.price + shipping,
                status=status,
                created_at=placed,
                tracking_number=f"1Z{product.pk:08d}{repeat[product.pk]:02d}" if shipped else "",
                paid_at=placed,
                shipped_at=shipped,
                delivered_at=delivered,
                estimated_delivery=(
                    delivery.estimate_when_shipped(shipped_on=shipped.date(), international=False)
                    if shipped
                    else delivery.estimate_when_placed(
                        placed_on=placed.date(), processing_days=shop.processing_days, international=False
                    )
                ),
            )
        )
    with (
        transaction.atomic(),
        _without_auto_now(Checkout, "created_at"),
        _without_auto_now(Order, "created_at"),
        _without_auto_now(Review, "created_at"),
    ):
        Checkout.objects.bulk_create(checkouts, batch_size=BATCH)
        for order in orders:
            order.checkout_id = order.checkout.id
        Order.objects.bulk_create(orders, batch_size=BATCH)
        for order, product in zip(orders, sales, strict=True):
            items.append(
                OrderItem(
                    order=order,
                    product=product,
                    title_at_purchase=product.title,
                    price_at_purchase=product.price,
                    quantity=1,
                )
            )
            if order.status == Order.Status.DELIVERED and rng.random() < 0.7:
                typical = float(quality.get(order.shop_id, Decimal("4.5")))
                days_since = (now - order.delivered_at).total_seconds() / 86400
                reviews.append(
                    Review(
                        order=order,
                        reviewer=order.buyer,
                        shop=order.shop,
                        rating=max(1, min(5, round(rng.gauss(typical, 0.8)))),
                        comment=rng.choice(comments),
                        created_at=order.delivered_at + timedelta(days=rng.uniform(0, min(5.0, days_since))),
                    )
                )
        OrderItem.objects.bulk_create(items, batch_size=BATCH)
        Review.objects.bulk_create(reviews, batch_size=BATCH)
        by_shop: dict[int, list[int]] = defaultdict(list)
        for review in reviews:
            by_shop[review.shop_id].append(review.rating)
        for shop_id, ratings in by_shop.items():
            Shop.objects.filter(pk=shop_id).update(rating=_mean_rating(ratings), review_count=len(ratings))
    return len(orders), len(reviews)


def _mean_rating(ratings: list[int]) -> Decimal:
    """Round the way ``shops.services.recompute_shop_rating`` does (one decimal, half up)."""
    return (Decimal(sum(ratings)) / len(ratings)).quantize(Decimal("0.1"), ROUND_HALF_UP)
