"""Order reads for buyers and sellers. Missing or someone else's -> OrderNotFound."""

from __future__ import annotations

from datetime import date

from django.db.models import Prefetch, QuerySet

from etsy import cache
from orders.exceptions import OrderNotFound
from orders.models import Order, OrderItem, Review

#: Reviews kept in the cached list of each shop (the shop page shows them all, the product page a few).
REVIEWS_SHOWN = 10


def _with_details(queryset: QuerySet[Order]) -> QuerySet[Order]:
    return queryset.select_related("shop", "buyer", "checkout", "cancellation_request").prefetch_related(
        Prefetch("items", queryset=OrderItem.objects.select_related("product").order_by("id"))
    )


#: The buyer's order-history filters: each names the statuses it shows ("open": not shipped yet).
BUYER_ORDER_FILTERS: dict[str, tuple[str, ...]] = {
    "open": (Order.Status.PENDING_PAYMENT, Order.Status.PAID),
    "shipped": (Order.Status.SHIPPED,),
    "delivered": (Order.Status.DELIVERED,),
    "cancelled": (Order.Status.CANCELLED,),
}


def list_orders_for_buyer(*, buyer, state: str | None = None) -> QuerySet[Order]:
    """Return the buyer's orders, newest first, with shop, checkout and items loaded.

    ``state``: one of BUYER_ORDER_FILTERS (None: every order).
    """
    queryset = Order.objects.filter(buyer=buyer)
    if state:
        queryset = queryset.filter(status__in=BUYER_ORDER_FILTERS[state])
    return _with_details(queryset).order_by("-created_at", "-id")


def list_orders_of_checkout(*, checkout_id) -> list[Order]:
    """Return a checkout's orders in shop order, with shop, checkout, cancellation request and items loaded (two
    queries): what the checkout's answer shows, without the buyer and the items' listings (their search text
    and description, read and thrown away on every checkout)."""
    items = Prefetch("items", queryset=OrderItem.objects.order_by("id"))
    orders = Order.objects.filter(checkout_id=checkout_id).select_related("shop", "checkout", "cancellation_request")
    return list(orders.prefetch_related(items).order_by("shop_id"))


def get_order_for_buyer(*, buyer, order_id) -> Order:
    """Return one of the buyer's orders. Raises OrderNotFound."""
    try:
        return _with_details(Order.objects.filter(buyer=buyer)).get(pk=int(order_id))
    except (Order.DoesNotExist, TypeError, ValueError):
        raise OrderNotFound() from None


def get_order_history_for_buyer(*, buyer, order_id) -> Order:
    """Return one of the buyer's orders with what its page and timeline show. Raises OrderNotFound."""
    queryset = _with_details(Order.objects.filter(buyer=buyer)).select_related("review")
    try:
        return queryset.prefetch_related("tracking_events").get(pk=int(order_id))
    except (Order.DoesNotExist, TypeError, ValueError):
        raise OrderNotFound() from None


def list_orders_for_shop(
    *, shop, status: str | None = None, date_from: date | None = None, date_to: date | None = None
) -> QuerySet[Order]:
    """Return a shop's orders, newest first, optionally by status and creation date (inclusive)."""
    queryset = Order.objects.filter(shop=shop)
    if status:
        queryset = queryset.filter(status=status)
    if date_from:
        queryset = queryset.filter(created_at__date__gte=date_from)
    if date_to:
        queryset = queryset.filter(created_at__date__lte=date_to)
    return _with_details(queryset).order_by("-created_at", "-id")


def get_order_for_seller(*, seller, order_id) -> Order:
    """Return an order of the seller's shop. Raises OrderNotFound."""
    try:
        return _with_details(Order.objects.filter(shop__owner=seller)).get(pk=int(order_id))
    except (Order.DoesNotExist, TypeError, ValueError):
        raise OrderNotFound() from None


def list_purchased_product_ids(*, user_id: int) -> list[int]:
    """Return the ids of the listings this buyer has ordered (a signal of the personalized feed)."""
    return list(
        OrderItem.objects.filter(order__buyer_id=user_id, product_id__isnull=False).values_list("product_id", flat=True)
    )


def list_shop_reviews(*, shop_id: int, limit: int = REVIEWS_SHOWN) -> list[Review]:
    """Return the shop's latest reviews with their reviewers (cached with the shop rating)."""

    def fetch() -> list[Review]:
        return list(
            Review.objects.filter(shop_id=shop_id).select_related("reviewer").order_by("-created_at")[:REVIEWS_SHOWN]
        )

    reviews = cache.cache_aside(cache.shop_reviews_key(shop_id), fetch, ttl=cache.TTL["reviews"], cache_type="shop")
    return reviews[:limit]
