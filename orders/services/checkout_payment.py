"""Checkout as a request: place the orders, charge once, report (``place_order``); its idempotency fingerprint."""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from decimal import Decimal

from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, connection
from django.db.models import F

from cart.models import CartItem
from cart.services import remove_lines
from etsy import metrics
from etsy.prepared import prepared_cursor
from orders import payments, selectors
from orders.exceptions import (
    CartEmpty,
    CheckoutAlreadyPlaced,
    CheckoutBusy,
    ItemUnavailable,
    PaymentMethodRefused,
    PaymentsUnavailable,
)
from orders.models import Checkout, Order
from orders.services.checkout_cancellation import cancel_checkout
from orders.services.checkout_placing import ShippingAddress, _conflict, _create_orders
from orders.services.checkout_resolution import _settle

# The log channel of the checkout before it was split into modules (alerts and dashboards filter on it).
logger = logging.getLogger("orders.services.checkout")

PaymentStatus = Checkout.PaymentStatus


@dataclass
class CheckoutResult:
    checkout: Checkout
    orders: list[Order]
    payment_status: str  # "paid"; "unknown" when the provider did not answer in time; or "requires_action"
    client_secret: str = ""  # with "requires_action": for Stripe.js / the app to finish 3-D Secure


def provider_key_for(*, buyer_id: int, idempotency_key: str) -> str:
    """Return the provider idempotency key of the checkout a buyer's request key creates."""
    return hashlib.sha256(f"checkout:{buyer_id}:{idempotency_key}".encode()).hexdigest()


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


# First writer wins: a retry that created the same payment again leaves the stored id as it is.
_STORE_PAYMENT_ID_SQL = (
    f"UPDATE {Checkout._meta.db_table} SET provider_payment_id = %s WHERE id = %s AND provider_payment_id = ''"
)


def _create_payment(*, checkout: Checkout) -> str:
    """Create the checkout's payment at the provider and store its id (first writer wins)."""
    payment_id = payments.create_payment(
        amount=checkout.total,
        currency=checkout.currency,
        idempotency_key=checkout.provider_idempotency_key,
        description=f"Checkout {checkout.pk}",
        metadata={"checkout_id": str(checkout.pk)},
    )
    with prepared_cursor() as cursor:  # a constant statement, planned once per connection (etsy.prepared)
        cursor.execute(_STORE_PAYMENT_ID_SQL, [payment_id, checkout.pk])
    checkout.provider_payment_id = payment_id
    return payment_id


# The cart as the fingerprint sees it, in the order the checkout reads it (hand-written and prepared: it runs
# before every checkout).
_CART_LINES_SQL = f"""
    SELECT offering_id, personalization, quantity FROM {CartItem._meta.db_table}
     WHERE user_id = %s
     ORDER BY product_id, offering_id, id
"""


def fingerprint_checkout(*, buyer, payload: dict, cart_emptied: bool = False) -> str:
    """Return the idempotency fingerprint of a checkout request: its payload and the buyer's cart now.

    ``cart_emptied``: the state a placed checkout leaves behind (it took every line of the cart), known
    without reading the cart again.
    """
    from etsy.idempotency import fingerprint

    lines = []
    if not cart_emptied:
        with prepared_cursor() as cursor:  # a constant statement, planned once per connection (etsy.prepared)
            cursor.execute(_CART_LINES_SQL, [buyer.pk])
            lines = cursor.fetchall()
    return fingerprint({"payload": payload, "cart": lines})
