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

Where each step lives (this module names them all, for callers and tests):
``checkout_placing`` (the address, step 3's transaction; ``checkout_rows`` writes its rows), ``checkout_payment``
(``place_order``: steps 1-4, the charge and the answer; the idempotency fingerprint), ``checkout_outcome`` (paid),
``checkout_cancellation`` (declined or abandoned), ``checkout_resolution`` (settling by the provider's answer, now or
later).
"""

from orders.services.checkout_cancellation import _cancel_orders, cancel_checkout
from orders.services.checkout_outcome import UNSETTLED, PaymentStatus, mark_checkout_paid
from orders.services.checkout_payment import CheckoutResult, fingerprint_checkout, place_order, provider_key_for
from orders.services.checkout_placing import ShippingAddress
from orders.services.checkout_resolution import (
    finish_authenticated_checkout,
    get_payment_for_authentication,
    resolve_checkout_payment,
    resolve_unsettled_checkouts,
)

__all__ = [
    "UNSETTLED",
    "CheckoutResult",
    "PaymentStatus",
    "ShippingAddress",
    "_cancel_orders",
    "cancel_checkout",
    "fingerprint_checkout",
    "finish_authenticated_checkout",
    "get_payment_for_authentication",
    "mark_checkout_paid",
    "place_order",
    "provider_key_for",
    "resolve_checkout_payment",
    "resolve_unsettled_checkouts",
]
