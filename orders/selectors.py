"""Order reads for buyers and sellers. Missing or someone else's -> OrderNotFound."""

from __future__ import annotations

from datetime import date

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, QuerySet

from etsy import cache
from etsy.prepared import fetch_instances, instances_from_row, prepared_cursor, select_list
from orders.exceptions import OrderNotFound
from orders.models import CancellationRequest, Checkout, Order, OrderItem, Review
from shops.models import Shop

User = get_user_model()

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


# Hand-written and prepared, the reads of the checkout's answer and of its worker task (its emails): building them
# with the ORM cost more CPU than PostgreSQL spent running them, and PostgreSQL planned each on every run.
def _give_items(orders: list[Order], items: list[OrderItem]) -> None:
    """Leave each order's ``items`` (those of ``items`` that are its, in their order) as ``prefetch_related``
    leaves them: ``order.items.all()`` reads nothing."""
    by_pk: dict[int, tuple[Order, list[OrderItem]]] = {order.pk: (order, []) for order in orders}
    for item in items:
        order, its = by_pk[item.order_id]
        OrderItem.order.field.set_cached_value(item, order)
        its.append(item)
    for order, its in by_pk.values():
        queryset = order.items.all()
        queryset._result_cache, queryset._prefetch_done = its, True
        order._prefetched_objects_cache = {**getattr(order, "_prefetched_objects_cache", {}), "items": queryset}


# The worker's email reads: each order with what its emails show and its items in one statement (a row per
# item). Of the shop, the people and the checkout only what the emails show is read (the rest is deferred: a
# shop's description and policy, a user's password hash, the payment provider's keys are read for no one).
_EMAIL_SHOP_FIELDS = ("owner_id", "name", "processing_days")
_EMAIL_USER_FIELDS = ("email", "display_name")
_EMAIL_CHECKOUT_FIELDS = (
    *("buyer_id", "total", "currency", "payment_status", "card_last4"),
    *("ship_name", "ship_line1", "ship_line2", "ship_city", "ship_region", "ship_postcode", "ship_country"),
)
_EMAIL_ORDER_MODELS = (
    (Order, "o"),
    (Shop, "s", _EMAIL_SHOP_FIELDS),
    (User, "so", _EMAIL_USER_FIELDS),
    (User, "b", _EMAIL_USER_FIELDS),
    (Checkout, "c", _EMAIL_CHECKOUT_FIELDS),
    (OrderItem, "i"),
)
_ORDERS_FOR_EMAIL_SQL = f"""
    SELECT {select_list(_EMAIL_ORDER_MODELS)}
      FROM {Order._meta.db_table} AS o
      JOIN {Shop._meta.db_table} AS s ON s.id = o.shop_id
      JOIN {User._meta.db_table} AS so ON so.id = s.owner_id
      JOIN {User._meta.db_table} AS b ON b.id = o.buyer_id
      JOIN {Checkout._meta.db_table} AS c ON c.id = o.checkout_id
      LEFT JOIN {OrderItem._meta.db_table} AS i ON i.order_id = o.id
     WHERE o.id = ANY(%s::bigint[])
     ORDER BY o.id, i.id
"""


def list_orders_for_email(*, order_ids: list[int]) -> dict[int, Order]:
    """Return these orders by id with what their emails show: shop and its owner, buyer, checkout, items (one
    prepared statement). Missing ids are left out."""
    if not order_ids:
        return {}
    orders: dict[int, Order] = {}
    items = []
    ids = [int(pk) for pk in order_ids]
    for order, shop, owner, buyer, checkout, item in fetch_instances(_ORDERS_FOR_EMAIL_SQL, [ids], _EMAIL_ORDER_MODELS):
        if order.pk not in orders:
            Shop.owner.field.set_cached_value(shop, owner)
            Order.shop.field.set_cached_value(order, shop)
            Order.buyer.field.set_cached_value(order, buyer)
            Order.checkout.field.set_cached_value(order, checkout)
            orders[order.pk] = order
        if item is not None:
            items.append(item)
    _give_items(list(orders.values()), items)
    return orders


_CONFIRMATION_MODELS = (
    (Checkout, "c", _EMAIL_CHECKOUT_FIELDS),
    (User, "b", _EMAIL_USER_FIELDS),
    (Order, "o"),
    (Shop, "s", _EMAIL_SHOP_FIELDS),
    (OrderItem, "i"),
)
_CONFIRMATION_SQL = f"""
    SELECT {select_list(_CONFIRMATION_MODELS)}
      FROM {Checkout._meta.db_table} AS c
      JOIN {User._meta.db_table} AS b ON b.id = c.buyer_id
      LEFT JOIN ({Order._meta.db_table} AS o
                 JOIN {Shop._meta.db_table} AS s ON s.id = o.shop_id)
        ON o.checkout_id = c.id AND o.status <> ALL(%s::text[])
      LEFT JOIN {OrderItem._meta.db_table} AS i ON i.order_id = o.id
     WHERE c.id = %s
     ORDER BY s.name, o.id, i.id
"""


def get_checkout_confirmation(*, checkout_id) -> tuple[Checkout, list[Order]] | None:
    """Return the checkout with its buyer, and its orders that are neither cancelled nor awaiting payment, by shop
    name, each with its shop and items (what the buyer's confirmation shows; one prepared statement); None when
    there is no such checkout."""
    left_out = [str(Order.Status.CANCELLED), str(Order.Status.PENDING_PAYMENT)]
    params = [left_out, Checkout._meta.pk.to_python(checkout_id)]
    checkout, orders, items = None, {}, []
    for found_checkout, buyer, order, shop, item in fetch_instances(_CONFIRMATION_SQL, params, _CONFIRMATION_MODELS):
        if checkout is None:
            checkout = found_checkout
            Checkout.buyer.field.set_cached_value(checkout, buyer)
        if order is not None and order.pk not in orders:
            Order.shop.field.set_cached_value(order, shop)
            Order.checkout.field.set_cached_value(order, checkout)
            orders[order.pk] = order
        if item is not None:
            items.append(item)
    if checkout is None:
        return None
    _give_items(list(orders.values()), items)
    return checkout, list(orders.values())


# The checkout's columns come first and are read into one instance all its orders share; an order's (with its shop
# and cancellation request) once however many items it has. The items are also matched by the orders' ids as an
# array: an index condition whatever the statistics say (joined on the order alone, the generic plan of a table
# never analyzed read every item, 2 ms where this reads three, 0.1 ms).
_ANSWER_CHECKOUT = ((Checkout, "c"),)
_ANSWER_ORDER = ((Order, "o"), (Shop, "s"), (CancellationRequest, "r"))
_ANSWER_ITEM = ((OrderItem, "i"),)
_ORDERS_OF_CHECKOUT_SQL = f"""
    SELECT {select_list(_ANSWER_CHECKOUT + _ANSWER_ORDER + _ANSWER_ITEM)}
      FROM {Order._meta.db_table} AS o
      JOIN {Shop._meta.db_table} AS s ON s.id = o.shop_id
      JOIN {Checkout._meta.db_table} AS c ON c.id = o.checkout_id
      LEFT JOIN {CancellationRequest._meta.db_table} AS r ON r.order_id = o.id
      LEFT JOIN {OrderItem._meta.db_table} AS i
             ON i.order_id = o.id
            AND i.order_id = ANY(ARRAY(SELECT id FROM {Order._meta.db_table} WHERE checkout_id = %s))
     WHERE o.checkout_id = %s
     ORDER BY o.shop_id, o.id, i.id
"""


def list_orders_of_checkout(*, checkout_id) -> list[Order]:
    """Return a checkout's orders in shop order, with shop, checkout, cancellation request and items loaded (one
    prepared statement, a row per item): what the checkout's answer shows, without the buyer and the items'
    listings (their search text and description, read and thrown away on every checkout)."""
    with prepared_cursor() as cursor:  # a constant statement, planned once per connection (etsy.prepared)
        checkout_pk = Checkout._meta.pk.to_python(checkout_id)
        cursor.execute(_ORDERS_OF_CHECKOUT_SQL, [checkout_pk, checkout_pk])
        rows = cursor.fetchall()
    orders: dict[int, Order] = {}
    items = []
    checkout, order_at, item_at = None, 0, 0
    for row in rows:
        if checkout is None:
            (checkout,), order_at = instances_from_row(row, _ANSWER_CHECKOUT)
        if row[order_at] not in orders:  # the order's id, its first column
            (order, shop, request), width = instances_from_row(row[order_at:], _ANSWER_ORDER)
            item_at = order_at + width
            Order.shop.field.set_cached_value(order, shop)
            Order.checkout.field.set_cached_value(order, checkout)
            Order.cancellation_request.related.set_cached_value(order, request)
            if request is not None:
                CancellationRequest.order.field.set_cached_value(request, order)
            orders[order.pk] = order
        (item,), _ = instances_from_row(row[item_at:], _ANSWER_ITEM)
        if item is not None:
            items.append(item)
    _give_items(list(orders.values()), items)
    return list(orders.values())


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


# A shop's reviews as its pages show them, latest first (the id orders reviews written in the same instant): the
# cached list and a page's check against the database read them in this one order.
LATEST_REVIEWS_FIRST = ("-created_at", "-id")


def list_shop_reviews(*, shop_id: int, limit: int = REVIEWS_SHOWN) -> list[Review]:
    """Return the shop's latest reviews with their reviewers (cached with the shop rating)."""

    def fetch() -> list[Review]:
        return list(
            Review.objects.filter(shop_id=shop_id)
            .select_related("reviewer")
            .order_by(*LATEST_REVIEWS_FIRST)[:REVIEWS_SHOWN]
        )

    reviews = cache.cache_aside(cache.shop_reviews_key(shop_id), fetch, ttl=cache.TTL["reviews"], cache_type="shop")
    return reviews[:limit]


# Each shop's latest reviews from the (shop, created_at) index, a few rows a shop whatever its count of reviews (a
# window over all of a shop's reviews read every one of them to keep three), with what ``_reviews.html`` shows of the
# reviewer; in ``LATEST_REVIEWS_FIRST`` order. A constant text: prepared and planned once per connection.
_LATEST_REVIEW_MODELS = ((Review, "r"), (User, "u", ("display_name", "email")))


def _order_by_sql(alias: str, ordering: tuple[str, ...]) -> str:
    return ", ".join(f"{alias}.{name.lstrip('-')} {'DESC' if name.startswith('-') else 'ASC'}" for name in ordering)


_LATEST_REVIEWS_SQL = f"""
    SELECT {select_list(_LATEST_REVIEW_MODELS)}
      FROM unnest(%s::bigint[]) AS s(id)
     CROSS JOIN LATERAL (
            SELECT * FROM {Review._meta.db_table} AS latest
             WHERE latest.shop_id = s.id
             ORDER BY {_order_by_sql("latest", LATEST_REVIEWS_FIRST)}
             LIMIT %s
           ) AS r
      JOIN {User._meta.db_table} AS u ON u.id = r.reviewer_id
     ORDER BY r.shop_id, {_order_by_sql("r", LATEST_REVIEWS_FIRST)}
"""


def list_latest_reviews_of_shops(*, shop_ids: list[int], limit: int) -> dict[int, list[Review]]:
    """Return each shop's latest ``limit`` reviews with their reviewers, read from the database in one query (what
    ``list_shop_reviews`` shows first, uncached: a cached page's check against the database)."""
    found: dict[int, list[Review]] = {pk: [] for pk in shop_ids}
    if not shop_ids:
        return found
    for review, reviewer in fetch_instances(_LATEST_REVIEWS_SQL, [sorted(set(shop_ids)), limit], _LATEST_REVIEW_MODELS):
        Review.reviewer.field.set_cached_value(review, reviewer)
        found[review.shop_id].append(review)
    return found
