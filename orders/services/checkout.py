"""Checkout: turn the buyer's cart into one order per shop and take one payment.

The order of events, and why:
1. Validate every line without locks (cheap refusals first).
2. Refuse at once if the payment breaker is open: nothing is created.
3. One transaction (``SET LOCAL lock_timeout``): lock the products in id order,
   re-check the buyer's lines and holds under the lock, create the checkout and
   its orders (``pending_payment``), take the stock with conditional updates
   (``quantity >= n``, row count checked), clear the cart, write the
   seller-notification outbox rows. Commit. Lines that cannot be bought are
   taken out of the cart (for every interface alike); a cart that no longer
   matches what the buyer saw (``expected_total``/``expected_version``) is refused.
4. Charge once, outside any transaction (no row lock held over the network),
   with a provider idempotency key fixed per checkout.
5. Paid -> orders paid, shops' sales counted, sellers notified. Declined -> orders cancelled, stock
   given back, cart restored, all in one transaction. Unknown (timeout,
   provider error) -> orders stay pending; ``resolve_unsettled_checkouts``
   asks the provider about the same charge later. A retry with the same
   request key finds the checkout it created and finishes its charge.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F, OuterRef, Subquery
from django.utils import timezone

from cart.exceptions import CartChanged, ItemReserved
from cart.models import CartItem
from cart.selectors import cart_version
from cart.services import remove_lines, remove_lines_by_id, reservation_deadline
from catalog.signals import products_changed
from catalog.stock import decrement_offerings, lock_offerings, lock_products, restock_offerings, set_lock_timeout
from etsy import cache, metrics, outbox
from etsy.names import is_country_code
from etsy.outbox import selectors as outbox_selectors
from etsy.prepared import prepared_cursor
from orders import delivery, events, payments, selectors
from orders.exceptions import (
    CartEmpty,
    CartTotalChanged,
    CheckoutAlreadyPlaced,
    CheckoutBusy,
    InvalidAddress,
    ItemUnavailable,
    PaymentDeclined,
    PaymentMethodRefused,
    PaymentsUnavailable,
)
from orders.fees import fees_for
from orders.models import Checkout, Order, OrderItem
from shops import services as shop_services

logger = logging.getLogger(__name__)

PaymentStatus = Checkout.PaymentStatus
UNSETTLED = [PaymentStatus.PENDING, PaymentStatus.UNKNOWN, PaymentStatus.REQUIRES_ACTION]


@dataclass(frozen=True)
class ShippingAddress:
    name: str
    line1: str
    city: str
    postcode: str
    country: str = "US"
    line2: str = ""
    region: str = ""

    def validated(self) -> ShippingAddress:
        """Return a trimmed copy; raise InvalidAddress naming the missing or too long fields."""
        limits = {"name": 120, "line1": 200, "line2": 200, "city": 100, "region": 100, "postcode": 20, "country": 2}
        values = {f: str(getattr(self, f) or "").strip() for f in limits}
        values["country"] = values["country"].upper()
        errors = {}
        for field_name, limit in limits.items():
            if field_name not in ("line2", "region") and not values[field_name]:
                errors[field_name] = "This field is required."
            elif len(values[field_name]) > limit:
                errors[field_name] = f"At most {limit} characters."
        if values["country"] and not is_country_code(values["country"]):
            errors["country"] = "Use a two-letter country code."
        if errors:
            raise InvalidAddress(extra={"fields": errors})
        return ShippingAddress(**values)


@dataclass
class CheckoutResult:
    checkout: Checkout
    orders: list[Order]
    payment_status: str  # "paid"; "unknown" when the provider did not answer in time; or "requires_action"
    client_secret: str = ""  # with "requires_action": for Stripe.js / the app to finish 3-D Secure


def provider_key_for(*, buyer_id: int, idempotency_key: str) -> str:
    """Return the provider idempotency key of the checkout a buyer's request key creates."""
    return hashlib.sha256(f"checkout:{buyer_id}:{idempotency_key}".encode()).hexdigest()


def _conflict(exc):
    metrics.inventory_conflicts.inc()
    return exc


def _refuse_unbuyable_lines(*, buyer_id: int, lines: list[CartItem], products: dict, offerings: dict) -> None:
    """Raise ItemReserved or ItemUnavailable for the first kind of problem found among the lines.

    Per offering: another buyer's live hold on it (``line.held_until``: see ``_held_until``), or the listing
    withdrawn, the offering switched off or deleted, or fewer units than the buyer's lines of it ask for (two
    engravings of one size add up). ItemUnavailable's ``extra["line_ids"]`` names the lines to take out of the
    cart.
    """
    held = {}
    for line in sorted(lines, key=lambda ln: ln.offering_id):
        if line.held_until is not None:
            held.setdefault(line.product_id, line.held_until)
    if held:
        product_id, until = next(iter(held.items()))
        raise _conflict(
            ItemReserved(
                extra={
                    "product_id": product_id,
                    "reserved_until": until.isoformat(),
                    "products": [{"id": pid, "title": products[pid].title} for pid in held],
                }
            )
        )
    wanted: dict[int, int] = defaultdict(int)
    for line in lines:
        wanted[line.offering_id] += line.quantity
    gone = [
        line
        for line in lines
        if not products[line.product_id].is_listed_for(buyer_id)
        or _unsellable(offerings.get(line.offering_id), wanted[line.offering_id])
    ]
    if gone:
        raise _conflict(_unavailable(gone, products, offerings))


def _held_until(*, buyer_id: int, now):
    """The latest live hold of another buyer on a line's offering (None: nobody else holds it)."""
    holds = CartItem.objects.filter(offering_id=OuterRef("offering_id"), reserved_until__gt=now).exclude(
        user_id=buyer_id
    )
    return Subquery(holds.order_by("-reserved_until").values("reserved_until")[:1])


def _unsellable(offering, wanted: int) -> bool:
    return offering is None or not offering.is_enabled or offering.quantity < wanted


def _unavailable(lines: list[CartItem], products: dict, offerings: dict) -> ItemUnavailable:
    """ItemUnavailable naming the listings (``products``: id, title, options) and the lines (``line_ids``)."""
    shown = {}
    for line in lines:
        offering = offerings.get(line.offering_id)
        shown.setdefault(
            (line.product_id, line.offering_id),
            {
                "id": line.product_id,
                "title": products[line.product_id].title,
                "offering_id": line.offering_id,
                "options": offering.options_label if offering is not None else "",
            },
        )
    return ItemUnavailable(extra={"products": list(shown.values()), "line_ids": [line.pk for line in lines]})


def _frozen_fees(subtotal: Decimal, shipping: Decimal) -> dict:
    fees = fees_for(subtotal=subtotal, shipping=shipping)
    return {"transaction_fee": fees.transaction_fee, "processing_fee": fees.processing_fee}


def _send_products_changed(product_ids: list[int]) -> None:
    products_changed.send(sender=Order, product_ids=product_ids, reason="stock")


def _create_orders(
    *,
    buyer,
    address: ShippingAddress,
    provider_key: str,
    expected_total: Decimal | None = None,
    expected_version: str | None = None,
) -> tuple[Checkout, dict[int, int]]:
    """The locking transaction of step 3; return the checkout and its orders' ``order.placed`` outbox rows
    (``{order id: row id}``: relayed once paid).

    Raises CartEmpty, CartChanged, CartTotalChanged, ItemReserved, ItemUnavailable.
    """
    with transaction.atomic():
        set_lock_timeout(settings.CHECKOUT_LOCK_TIMEOUT_MS)
        # catalog.stock's lock order: the listings, then their offerings, each in id order. The listings are
        # those of the buyer's lines, found and locked in one statement (the cart is read once, below).
        products = lock_products(product_ids=CartItem.objects.filter(user=buyer).values("product_id"))
        now = timezone.now()
        # Read under the locks: a parallel checkout of this buyer may have emptied the cart.
        # The lines come with their offerings, locked in the same statement (their listings' locks, taken
        # above, already keep every other writer of them out: catalog.stock's lock order), and with other
        # buyers' live holds on the same offerings.
        lines = list(
            CartItem.objects.filter(user=buyer)
            .select_related("offering__option1__variation", "offering__option2__variation")
            .annotate(held_until=_held_until(buyer_id=buyer.pk, now=now))
            .select_for_update(no_key=True, of=("offering",))
            .order_by("product_id", "offering_id", "id")
        )
        if not lines:
            raise CartEmpty()
        if any(line.product_id not in products for line in lines):
            raise CartChanged()
        offerings = {line.offering_id: line.offering for line in lines}
        _refuse_unbuyable_lines(buyer_id=buyer.pk, lines=lines, products=products, offerings=offerings)

        by_shop: dict[int, list[CartItem]] = defaultdict(list)
        for line in lines:
            by_shop[products[line.product_id].shop_id].append(line)
        shop_totals, estimates = {}, {}
        for shop_id, shop_lines in by_shop.items():
            shop = products[shop_lines[0].product_id].shop
            estimates[shop_id] = delivery.estimate_when_placed(
                placed_on=timezone.localdate(now),
                processing_days=shop.processing_days,
                international=delivery.is_international(shop_country=shop.country, ship_country=address.country),
            )
            subtotal = sum((offerings[ln.offering_id].price * ln.quantity for ln in shop_lines), Decimal("0.00"))
            shipping = shop.shipping_for(item_count=sum(ln.quantity for ln in shop_lines), subtotal=subtotal)
            shop_totals[shop_id] = (subtotal, shipping)
        total = sum((s + sh for s, sh in shop_totals.values()), Decimal("0.00"))
        # What the buyer saw is what is charged: another tab's change refuses this submit, under the locks.
        if expected_total is not None and expected_total != total:
            raise CartTotalChanged(extra={"expected_total": str(expected_total), "total": str(total)})
        if expected_version is not None:
            seen = [(ln.offering_id, ln.personalization, ln.quantity, offerings[ln.offering_id].price) for ln in lines]
            if expected_version != cart_version(seen, total):
                raise CartChanged(extra={"total": str(total)})

        checkout = Checkout.objects.create(
            buyer=buyer,
            total=total,
            payment_attempts=1,  # this request charges it next (_collect_payment counts a retry's attempt)
            provider_idempotency_key=provider_key,
            ship_name=address.name,
            ship_line1=address.line1,
            ship_line2=address.line2,
            ship_city=address.city,
            ship_region=address.region,
            ship_postcode=address.postcode,
            ship_country=address.country,
        )
        orders = Order.objects.bulk_create(
            Order(
                checkout=checkout,
                buyer=buyer,
                shop_id=shop_id,
                subtotal=shop_totals[shop_id][0],
                shipping=shop_totals[shop_id][1],
                total=sum(shop_totals[shop_id]),
                status=Order.Status.PENDING_PAYMENT,
                estimated_delivery=estimates[shop_id],
                **_frozen_fees(*shop_totals[shop_id]),
            )
            for shop_id in sorted(by_shop)
        )
        OrderItem.objects.bulk_create(
            OrderItem(
                order=order,
                product=products[line.product_id],
                offering=offerings[line.offering_id],
                title_at_purchase=products[line.product_id].title,
                options_at_purchase=offerings[line.offering_id].options_label,
                sku_at_purchase=offerings[line.offering_id].sku,
                personalization=line.personalization,
                price_at_purchase=offerings[line.offering_id].price,
                quantity=line.quantity,
            )
            for order in orders
            for line in by_shop[order.shop_id]
        )
        # Relayed once the payment outcome commits (mark_checkout_paid / _cancel_orders), not now.
        placed = outbox.publish_many(
            topic=events.TOPIC_ORDER_PLACED,
            payloads=({"order_id": order.pk} for order in orders),
            relay=False,
            relayed_later=True,
        )

        # The shops' sales counts move when the payment succeeds (mark_checkout_paid): they count
        # units of paid, shipped and delivered orders, as the seller's dashboard does. Their rows are
        # still locked here, before the stock: a shop's update re-syncs all its search_listing rows
        # (trigger) and a stock update one of them, so both take the shop row first (in id order)
        # and a payment settling never deadlocks with a checkout of the same shop.
        shop_services.lock_shops(shop_ids=by_shop)
        # One conditional UPDATE for every line (rows already locked in id order); the rows it could not take
        # from come back, so nothing is sold short.
        # Per offering, with the listings' totals in the same statement.
        taking: dict[int, int] = defaultdict(int)
        for line in lines:
            taking[line.offering_id] += line.quantity
        short = set(decrement_offerings(quantities=taking))
        if short:
            raise _conflict(_unavailable([ln for ln in lines if ln.offering_id in short], products, offerings))
        remove_lines_by_id(user_id=buyer.pk, line_ids=[line.pk for line in lines], product_ids=sorted(products))
        transaction.on_commit(partial(_send_products_changed, sorted(products)))
    return checkout, {order.pk: message.pk for order, message in zip(orders, placed, strict=True)}


def place_order(
    *,
    buyer,
    address: ShippingAddress,
    payment_method: str,
    idempotency_key: str,
    expected_total: Decimal | None = None,
    expected_version: str | None = None,
) -> CheckoutResult:
    """Buy the whole cart: one order per shop, one charge. Never call inside an open transaction.

    ``expected_total`` / ``expected_version`` (``cart.selectors.cart_version``): what the buyer
    saw; when the cart differs at the moment of the charge, nothing is created or charged.
    A second call with the same ``idempotency_key`` finishes the checkout the first one created
    (when its charge never completed) instead of looking at the (now empty) cart. A lost database
    connection is retried once: every step either was not committed or is found again by the key.

    ``payment_method`` is the provider's payment-method id (``pm_...``): card data never reaches us.

    Raises InvalidAddress, PaymentMethodRefused, CartEmpty, CartChanged, CartTotalChanged, ItemReserved,
    ItemUnavailable (the lines that cannot be bought are taken out of the cart: ``extra["removed"]``),
    CheckoutBusy, CheckoutAlreadyPlaced and PaymentsUnavailable before anything is kept;
    PaymentDeclined after the orders were created and then cancelled (stock and cart restored).
    Emails each seller (outbox, after the payment outcome commits).
    """
    for attempt in (1, 2):
        try:
            return _place_order(
                buyer=buyer,
                address=address,
                payment_method=payment_method,
                idempotency_key=idempotency_key,
                expected_total=expected_total,
                expected_version=expected_version,
            )
        except (DatabaseError, InterfaceError) as exc:
            if connection.in_atomic_block or not _is_connection_loss(exc):
                raise
            connection.close()  # the next query (this retry's, or the caller's error page) opens a new one
            if attempt == 2:
                raise
            logger.warning("checkout lost its database connection; retrying", exc_info=True)
    raise AssertionError("unreachable")  # pragma: no cover


CONNECTION_LOST_STATES = ("57P01", "57P02", "57P03")  # admin shutdown, crash shutdown, cannot connect now


def _is_connection_loss(exc: Exception) -> bool:
    """Whether a database error means the connection went away (not a refused statement).

    PostgreSQL names a terminated session (57P0x) or a connection failure (class 08); a socket
    that died under the client has no SQLSTATE at all. Everything else (lock timeout, deadlock,
    constraint) is an answer about the statement and is not retried here.
    """
    cause = exc.__cause__  # the driver's error; Django's own DatabaseErrors (no cause) are not about the link
    if cause is None:
        return False
    state = getattr(cause, "sqlstate", None)
    if state is None:
        return True
    return state.startswith("08") or state in CONNECTION_LOST_STATES


def _place_order(
    *,
    buyer,
    address: ShippingAddress,
    payment_method: str,
    idempotency_key: str,
    expected_total: Decimal | None,
    expected_version: str | None,
) -> CheckoutResult:
    started = time.monotonic()
    address = address.validated()
    provider_key = provider_key_for(buyer_id=buyer.pk, idempotency_key=idempotency_key)
    # The cart is read once, under the locks (_create_orders): its refusals (CartEmpty, ItemReserved,
    # ItemUnavailable) come from there, after these two checks that need no database. A retry of a request
    # whose checkout was committed finds the cart that checkout emptied (or one of these refusals): only then is
    # the checkout its key created looked up, so a first request does not pay for the look-up.
    try:
        if payments.is_circuit_open():
            raise PaymentsUnavailable()
        _check_payment_method(payment_method)
        checkout, placed_messages = _create_orders(
            buyer=buyer,
            address=address,
            provider_key=provider_key,
            expected_total=expected_total,
            expected_version=expected_version,
        )
    except (CartEmpty, PaymentsUnavailable, PaymentMethodRefused):
        existing = Checkout.objects.filter(provider_idempotency_key=provider_key).first()
        if existing is None:
            raise
        # A retry of a request whose checkout was committed: finish its charge, never a second checkout.
        if existing.payment_status != PaymentStatus.PENDING:
            raise CheckoutAlreadyPlaced(extra={"checkout_id": str(existing.pk)}) from None
        return _charge_and_report(checkout=existing, payment_method=payment_method, started=started, retry=True)
    except ItemUnavailable as exc:
        _remove_unbuyable_lines(buyer=buyer, exc=exc)
        raise
    except OperationalError as exc:
        if getattr(getattr(exc, "__cause__", None), "sqlstate", None) in ("55P03", "40P01"):  # lock timeout, deadlock
            raise _conflict(CheckoutBusy()) from exc
        raise
    except IntegrityError as exc:
        existing = Checkout.objects.filter(provider_idempotency_key=provider_key).values_list("pk", flat=True).first()
        if existing is None:
            raise
        raise CheckoutAlreadyPlaced(extra={"checkout_id": str(existing)}) from exc
    return _charge_and_report(
        checkout=checkout, payment_method=payment_method, started=started, placed_messages=placed_messages
    )


def _check_payment_method(payment_method: str) -> None:
    """Refuse an unknown or foreign payment method before anything is created (402 with the provider's code)."""
    try:
        payments.check_payment_method(payment_method=payment_method)
    except payments.PaymentMethodRefused as exc:
        raise PaymentMethodRefused(extra={"decline_code": exc.decline_code}) from None
    except payments.PaymentsOpenCircuit:
        raise PaymentsUnavailable() from None
    except payments.PaymentError:
        # The provider did not answer the look-up: the confirmation will tell (its outcome is tracked).
        logger.warning("payment method check gave no answer", exc_info=True)


def _remove_unbuyable_lines(*, buyer, exc: ItemUnavailable) -> None:
    """Take the lines that cannot be bought out of the cart (the same for every interface).

    The buyer is told which (``exc.extra["products"]``) and can place the rest at once.
    """
    remove_lines(user=buyer, line_ids=exc.extra.pop("line_ids", None) or [])
    exc.extra["removed"] = True


def _charge_and_report(
    *,
    checkout: Checkout,
    payment_method: str,
    started: float,
    retry: bool = False,
    placed_messages: dict[int, int] | None = None,
) -> CheckoutResult:
    orders: list[Order] = []
    client_secret = ""
    try:
        status, client_secret = _collect_payment(
            checkout=checkout, payment_method=payment_method, retry=retry, placed_messages=placed_messages
        )
    finally:
        try:
            # What the answer shows (the API serializes these): loaded once, with their checkout as it is now.
            orders = selectors.list_orders_of_checkout(checkout_id=checkout.pk)
            _record_metrics(orders=orders, started=started)
        except (DatabaseError, InterfaceError):
            logger.warning("checkout metrics skipped: database unreachable", extra={"checkout_id": str(checkout.pk)})
    if orders:
        checkout = orders[0].checkout
    else:
        checkout.refresh_from_db()
    logger.info(
        "checkout completed",
        extra={
            "event": "checkout_completed",
            "checkout_id": str(checkout.pk),
            "order_ids": [order.pk for order in orders],
            "payment_status": str(status),
            "total": str(checkout.total),
        },
    )
    return CheckoutResult(checkout=checkout, orders=orders, payment_status=str(status), client_secret=client_secret)


def _record_metrics(*, orders: list[Order], started: float) -> None:
    for order in orders:
        metrics.orders_created.labels(status=order.status).inc()
        metrics.orders_by_shop.labels(shop_id=str(order.shop_id)).inc()
        metrics.order_value.observe(float(order.total))
    metrics.checkout_duration.observe(time.monotonic() - started)


def _collect_payment(
    *, checkout: Checkout, payment_method: str, retry: bool = False, placed_messages: dict[int, int] | None = None
) -> tuple[str, str]:
    """Charge once and settle the orders by the answer; return the status ("paid", "unknown" or
    "requires_action") and the client secret that finishes a "requires_action" payment.

    The payment is created and its id stored before it is confirmed: an unknown outcome is then
    looked up by that id (webhook or resolver), and a checkout without one was never charged.
    """
    if retry:  # a first attempt was counted when the checkout was created
        Checkout.objects.filter(pk=checkout.pk).update(payment_attempts=F("payment_attempts") + 1)
    try:
        payment_id = checkout.provider_payment_id or _create_payment(checkout=checkout)
        charge = payments.confirm_payment(
            payment_id=payment_id,
            payment_method=payment_method,
            amount=checkout.total,
            currency=checkout.currency,
            idempotency_key=checkout.provider_idempotency_key,
        )
    except payments.PaymentsOpenCircuit:
        # The breaker opened between our check and the call: nothing reached the provider.
        cancel_checkout(checkout_id=checkout.pk, status=PaymentStatus.CANCELLED, restore_cart=True)
        raise PaymentsUnavailable() from None
    except payments.PaymentError:
        logger.warning("payment outcome unknown", exc_info=True, extra={"checkout_id": str(checkout.pk)})
        Checkout.objects.filter(pk=checkout.pk, payment_status=PaymentStatus.PENDING).update(
            payment_status=PaymentStatus.UNKNOWN
        )
        return PaymentStatus.UNKNOWN, ""
    settled = _settle(checkout_id=checkout.pk, charge=charge, restore_cart=True, placed_messages=placed_messages)
    return settled, charge.client_secret


def _create_payment(*, checkout: Checkout) -> str:
    """Create the checkout's payment at the provider and store its id (first writer wins)."""
    payment_id = payments.create_payment(
        amount=checkout.total,
        currency=checkout.currency,
        idempotency_key=checkout.provider_idempotency_key,
        description=f"Checkout {checkout.pk}",
        metadata={"checkout_id": str(checkout.pk)},
    )
    Checkout.objects.filter(pk=checkout.pk, provider_payment_id="").update(provider_payment_id=payment_id)
    checkout.provider_payment_id = payment_id
    return payment_id


def _settle(
    *, checkout_id, charge: payments.Charge, restore_cart: bool, placed_messages: dict[int, int] | None = None
) -> str:
    if charge.status == payments.ChargeStatus.SUCCEEDED:
        mark_checkout_paid(checkout_id=checkout_id, charge_id=charge.id, placed_messages=placed_messages)
        return PaymentStatus.PAID
    if charge.status == payments.ChargeStatus.DECLINED:
        cancel_checkout(checkout_id=checkout_id, status=PaymentStatus.DECLINED, restore_cart=restore_cart)
        raise PaymentDeclined(extra={"checkout_id": str(checkout_id), "decline_code": charge.decline_code})
    if charge.status == payments.ChargeStatus.REQUIRES_ACTION:
        Checkout.objects.filter(
            pk=checkout_id, payment_status__in=[PaymentStatus.PENDING, PaymentStatus.UNKNOWN]
        ).update(payment_status=PaymentStatus.REQUIRES_ACTION, updated_at=timezone.now())
        return PaymentStatus.REQUIRES_ACTION
    Checkout.objects.filter(pk=checkout_id, payment_status=PaymentStatus.PENDING).update(
        payment_status=PaymentStatus.UNKNOWN
    )
    return PaymentStatus.UNKNOWN


def _outbox_ids_for(order_ids: list[int]) -> list[int]:
    return outbox_selectors.list_pending_message_ids(
        topic=events.TOPIC_ORDER_PLACED, payload_key="order_id", values=order_ids
    )


@dataclass(frozen=True)
class _LockedOrder:
    pk: int
    shop_id: int
    status: str  # as locked, before this payment moved it
    refund_when_charged: bool
    paid_now: bool
    units: int | None


# Locked in id order (as a seller's cancel locks one) and the pending ones paid, in one statement: the lock
# returns each row's latest version and the UPDATE re-checks it, so an order cancelled meanwhile stays
# cancelled. Each comes with its units, which the shops' sales counts move by.
_LOCK_AND_PAY_ORDERS_SQL = f"""
    WITH locked AS (
        SELECT id, shop_id, status, refund_when_charged FROM {Order._meta.db_table}
         WHERE checkout_id = %s ORDER BY id FOR UPDATE
    ), paid AS (
        UPDATE {Order._meta.db_table} AS o SET status = %s, paid_at = %s, updated_at = %s
          FROM locked
         WHERE o.id = locked.id AND locked.status = %s AND o.status = %s
        RETURNING o.id
    )
    SELECT l.id, l.shop_id, l.status, l.refund_when_charged, p.id IS NOT NULL,
           (SELECT sum(i.quantity) FROM {OrderItem._meta.db_table} AS i WHERE i.order_id = l.id)
      FROM locked AS l LEFT JOIN paid AS p ON p.id = l.id
     ORDER BY l.id
"""


def _lock_and_pay_orders(*, checkout_id, now) -> list[_LockedOrder]:
    """Lock a checkout's orders in id order and mark the ones awaiting payment paid; return them as locked."""
    pending, paid = Order.Status.PENDING_PAYMENT, Order.Status.PAID
    with prepared_cursor() as cursor:  # a constant statement, planned once per connection (etsy.prepared)
        cursor.execute(_LOCK_AND_PAY_ORDERS_SQL, [checkout_id, paid, now, now, pending, pending])
        return [_LockedOrder(*row) for row in cursor.fetchall()]


@transaction.atomic
def mark_checkout_paid(*, checkout_id, charge_id: str, placed_messages: dict[int, int] | None = None) -> bool:
    """Mark an unsettled checkout and its orders paid (once); notify sellers and confirm to the buyer after
    commit (outbox rows written in this transaction: sent once the payment is recorded, even after a crash).

    ``placed_messages``: the orders' ``order.placed`` rows (``{order id: row id}``) when the caller created
    them (the checkout request); otherwise they are looked up.

    Orders cancelled while the charge was pending (``refund_when_charged``) are refunded in full
    through the outbox (payments books the sale and its refund, so the ledger balances to the cent).
    """
    moved = Checkout.objects.filter(pk=checkout_id, payment_status__in=UNSETTLED).update(
        payment_status=PaymentStatus.PAID, provider_charge_id=charge_id, updated_at=timezone.now()
    )
    if not moved:
        return False
    orders = _lock_and_pay_orders(checkout_id=checkout_id, now=timezone.now())
    order_ids = [o.pk for o in orders if o.paid_now]
    # Cancelled while this charge was pending: the buyer paid for them after all, so refund them now.
    refunds = outbox.publish_many(
        topic=events.TOPIC_ORDER_REFUND,
        payloads=({"order_id": o.pk} for o in orders if o.status == Order.Status.CANCELLED and o.refund_when_charged),
        relay=False,
        relayed_later=True,
    )
    units_by_shop: dict[int, int] = defaultdict(int)
    for order in orders:
        if order.pk in order_ids:
            units_by_shop[order.shop_id] += order.units or 0
    _count_sales(units_by_shop, sign=1)
    paid, confirmation = outbox.publish_each(
        messages=[
            (events.TOPIC_CHECKOUT_PAID, {"checkout_id": str(checkout_id)}),
            (events.TOPIC_CHECKOUT_CONFIRMATION, {"checkout_id": str(checkout_id)}),
        ],
        relay=False,
        relayed_later=True,
    )
    if placed_messages is None:
        placed_ids = _outbox_ids_for(order_ids)
    else:  # rows of orders cancelled meanwhile were relayed by their cancellation
        placed_ids = [placed_messages[pk] for pk in order_ids if pk in placed_messages]
    # Straight to the worker's queue after commit (the rows were written as handed over): no dispatching task.
    topics = {pk: events.TOPIC_ORDER_PLACED for pk in placed_ids} | {
        m.pk: m.topic for m in (paid, confirmation, *refunds)
    }
    outbox.relay_on_commit(topics, topics=topics)
    return True


def _count_sales(units_by_shop: dict[int, int], *, sign: int) -> None:
    """Move the shops' sales counts (units in paid, shipped and delivered orders) and announce it after commit.

    One statement for every shop, its rows locked in id order: a shop's update re-syncs its search rows
    (trigger), so one order keeps parallel payments and cancellations from deadlocking there.
    """
    moved = sorted(shop_id for shop_id, units in units_by_shop.items() if units)
    shop_services.add_sales_by_shop(units_by_shop={shop_id: sign * units_by_shop[shop_id] for shop_id in moved})
    if moved:
        transaction.on_commit(partial(_drop_shop_figures, moved))


def _drop_shop_figures(shop_ids: list[int]) -> None:
    """Drop the cached copies that show these shops' sales counts (cards, pages, product pages).

    Narrower than ``shops.signals.shop_changed`` (which also drops every listing card and the search
    results): a sale changes one number, and it is shown at once rather than after the caches expire.
    The shops' cards go in one round trip and their generations in one pipeline.
    """
    cache.delete(*[cache.shop_key(shop_id) for shop_id in shop_ids])
    for shop_id in shop_ids:
        cache.delete_set_members(cache.shop_pages_key(shop_id))
    cache.bump_generations([cache.shop_products_gen_key(shop_id) for shop_id in shop_ids])


@transaction.atomic
def cancel_checkout(*, checkout_id, status: str, restore_cart: bool = False) -> bool:
    """Cancel an unsettled checkout: orders cancelled, stock and sales counts given back, once.

    With ``restore_cart`` the lines go back into the buyer's cart (unique items held again),
    so a declined buyer can retry with another card.
    """
    moved = Checkout.objects.filter(pk=checkout_id, payment_status__in=UNSETTLED).update(
        payment_status=status, updated_at=timezone.now()
    )
    if not moved:
        return False
    orders = list(
        Order.objects.select_for_update()
        .filter(checkout_id=checkout_id, status=Order.Status.PENDING_PAYMENT)
        .prefetch_related("items")
        .order_by("pk")
    )
    _cancel_orders(orders=orders, restore_cart_for=orders[0].buyer_id if (orders and restore_cart) else None)
    return True


def _cancel_orders(*, orders: list[Order], restore_cart_for: int | None) -> None:
    """Cancel locked orders and give their stock back (caller holds the order locks in a transaction).

    Paid orders also get a refund, promised through the outbox (the provider is called after commit).
    """
    if not orders:
        return
    quantities: dict[int, int] = defaultdict(int)  # per offering
    product_ids: set[int] = set()
    restore: dict[tuple[int, int, str], int] = defaultdict(int)  # (listing, offering, text) -> units
    sold_by_shop: dict[int, int] = defaultdict(int)
    for order in orders:
        for item in order.items.all():
            if item.product_id is not None and item.offering_id is not None:
                quantities[item.offering_id] += item.quantity
                product_ids.add(item.product_id)
                restore[(item.product_id, item.offering_id, item.personalization)] += item.quantity
            if order.status == Order.Status.PAID:  # only paid orders were counted as sales
                sold_by_shop[order.shop_id] += item.quantity
    products = lock_products(product_ids=product_ids)  # catalog.stock's order: listings, then offerings
    offerings = lock_offerings(offering_ids=quantities)
    _count_sales(sold_by_shop, sign=-1)  # shops before stock (no deadlock with checkouts)
    restock_offerings(quantities=quantities)
    now = timezone.now()
    Order.objects.filter(pk__in=[o.pk for o in orders]).update(
        status=Order.Status.CANCELLED, cancelled_at=now, updated_at=now
    )
    if restore_cart_for is not None:
        for (product_id, offering_id, text), units in sorted(restore.items()):
            if product_id not in products or offering_id not in offerings:
                continue
            restocked = offerings[offering_id].quantity + quantities[offering_id]
            CartItem.objects.update_or_create(
                user_id=restore_cart_for,
                offering_id=offering_id,
                personalization=text,
                defaults={
                    "product_id": product_id,
                    "quantity": units,
                    "reserved_until": reservation_deadline(now=now) if restocked == 1 else None,
                },
            )
    refunds = outbox.publish_many(
        topic=events.TOPIC_ORDER_REFUND,
        payloads=({"order_id": o.pk} for o in orders if o.status == Order.Status.PAID),
        relay=False,
        relayed_later=True,
    )
    topics = {pk: events.TOPIC_ORDER_PLACED for pk in _outbox_ids_for([o.pk for o in orders])}
    topics |= {r.pk: r.topic for r in refunds}
    outbox.relay_on_commit(topics, topics=topics)
    transaction.on_commit(partial(_send_products_changed, sorted(product_ids)))


def resolve_checkout_payment(*, checkout_id) -> str:
    """Ask the provider about an unsettled checkout's charge and settle it; return the resulting status.

    Charges the provider never received are cancelled once older than
    ``settings.PAYMENT_ABANDON_AFTER_SECONDS`` (default 15 minutes).
    """
    checkout = Checkout.objects.filter(pk=checkout_id).first()
    if checkout is None or checkout.payment_status not in UNSETTLED:
        return checkout.payment_status if checkout else "missing"
    try:
        charge = payments.retrieve(
            payment_id=checkout.provider_payment_id, idempotency_key=checkout.provider_idempotency_key
        )
    except (payments.PaymentError, payments.PaymentsOpenCircuit):
        return checkout.payment_status
    abandon_after = timedelta(seconds=getattr(settings, "PAYMENT_ABANDON_AFTER_SECONDS", 15 * 60))
    # Never received, or never authenticated by the buyer (3-D Secure): given up after a while.
    if charge is None or charge.status == payments.ChargeStatus.REQUIRES_ACTION:
        if checkout.created_at < timezone.now() - abandon_after:
            if charge is not None:
                # Cancel at the provider first: a buyer authenticating later must not pay for cancelled orders.
                try:
                    charge = payments.cancel_payment(
                        payment_id=checkout.provider_payment_id, idempotency_key=checkout.provider_idempotency_key
                    )
                except (payments.PaymentError, payments.PaymentsOpenCircuit):
                    return checkout.payment_status  # asked again at the next run
                if charge.status == payments.ChargeStatus.SUCCEEDED:  # authenticated just in time
                    return _settle(checkout_id=checkout.pk, charge=charge, restore_cart=False)
            cancel_checkout(checkout_id=checkout.pk, status=PaymentStatus.CANCELLED)
            return PaymentStatus.CANCELLED
        if charge is None:
            return checkout.payment_status
    try:
        return _settle(checkout_id=checkout.pk, charge=charge, restore_cart=False)
    except PaymentDeclined:
        return PaymentStatus.DECLINED


def get_payment_for_authentication(*, buyer, checkout_id) -> payments.Charge | None:
    """Return the buyer's checkout payment waiting for 3-D Secure (with its client secret), else None."""
    checkout = Checkout.objects.filter(
        pk=checkout_id, buyer=buyer, payment_status=PaymentStatus.REQUIRES_ACTION
    ).first()
    if checkout is None:
        return None
    try:
        charge = payments.retrieve(
            payment_id=checkout.provider_payment_id, idempotency_key=checkout.provider_idempotency_key
        )
    except (payments.PaymentError, payments.PaymentsOpenCircuit):
        return None
    return charge if charge is not None and charge.status == payments.ChargeStatus.REQUIRES_ACTION else None


def finish_authenticated_checkout(*, buyer, checkout_id, test_authenticate: bool = False) -> str:
    """Settle a buyer's checkout after 3-D Secure (Stripe.js returned, or the test provider's button).

    ``test_authenticate`` plays the buyer passing the test provider's challenge (only that provider has it).
    Returns the checkout's payment status; the webhook or the resolver settles it if the provider is late.
    """
    checkout = Checkout.objects.filter(pk=checkout_id, buyer=buyer).first()
    if checkout is None:
        return "missing"
    provider = payments.get_provider()
    if test_authenticate and hasattr(provider, "authenticate"):
        provider.authenticate(idempotency_key=checkout.provider_idempotency_key)
    return resolve_checkout_payment(checkout_id=checkout.pk)


def resolve_unsettled_checkouts(*, now=None) -> dict[str, int]:
    """Settle every checkout left pending or unknown past the payment timeout (beat, every minute)."""
    now = now or timezone.now()
    grace = timedelta(seconds=settings.PAYMENT_TIMEOUT_SECONDS * 2 + 10)
    ids = list(
        Checkout.objects.filter(payment_status__in=UNSETTLED, created_at__lt=now - grace)
        .order_by("created_at")
        .values_list("pk", flat=True)[:200]
    )
    outcomes: dict[str, int] = defaultdict(int)
    for checkout_id in ids:
        outcomes[resolve_checkout_payment(checkout_id=checkout_id)] += 1
    return dict(outcomes)


def fingerprint_checkout(*, buyer, payload: dict, cart_emptied: bool = False) -> str:
    """Return the idempotency fingerprint of a checkout request: its payload and the buyer's cart now.

    ``cart_emptied``: the state a placed checkout leaves behind (it took every line of the cart), known
    without reading the cart again.
    """
    from etsy.idempotency import fingerprint

    lines = []
    if not cart_emptied:
        lines = list(
            CartItem.objects.filter(user=buyer)
            .order_by("product_id", "offering_id", "id")
            .values_list("offering_id", "personalization", "quantity")
        )
    return fingerprint({"payload": payload, "cart": lines})
