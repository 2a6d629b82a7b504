"""The payment-provider interface, the built-in test provider, and the guarded call.

No card data reaches this server: the buyer types the card into the provider's own
element (Stripe.js, a mobile SDK) and we receive a payment-method id (``pm_...``).

Checkout talks to a provider only through the functions below (``check_payment_method``,
``create_payment``, ``confirm_payment``, ``retrieve``, ``refund``): each call runs behind
``etsy.breakers.payment_breaker`` with a hard timeout (``settings.PAYMENT_TIMEOUT_SECONDS``,
5 s). A payment is created first (its id is stored on the checkout) and confirmed second, so an
outcome that is unknown (timeout, provider error: never a decline) is looked up later by that
id; the provider idempotency key is fixed per checkout, so a retry can never charge twice.

Test payment methods of ``TestPaymentProvider`` (Stripe's own test ids, plus two slow ones):
  pm_card_visa                    succeeds
  pm_card_chargeDeclined          is declined (card_declined)
  pm_card_authenticationRequired  needs 3-D Secure (requires_action) until authenticated
  pm_card_timeout                 is slow: the provider answers after the client timeout, the charge succeeds
  pm_card_timeoutThenDeclined     is slow and is then declined by the provider
  any other id is refused before anything is created (resource_missing)

Where each part lives (this package names every public one, for callers, settings and tests): ``provider`` (the
interface, its charge, refund and errors), ``methods`` (payment-method ids, card fields), ``builtin_provider``
(``TestPaymentProvider``, still configured as ``orders.payments.TestPaymentProvider``), ``calls`` (the guarded
calls checkout makes).
"""

from orders.payments.builtin_provider import TestPaymentProvider
from orders.payments.calls import (
    cancel_payment,
    check_payment_method,
    confirm_payment,
    create_payment,
    get_provider,
    guarded,
    is_circuit_open,
    retrieve,
    test_payment_method_choices,
)
from orders.payments.methods import (
    CARD_FIELD_NAMES,
    PAYMENT_METHOD_ID,
    PM_AUTHENTICATION_REQUIRED,
    PM_DECLINED,
    PM_SUCCEEDS,
    PM_TIMEOUT,
    PM_TIMEOUT_THEN_DECLINED,
    TEST_PAYMENT_METHODS,
    has_card_data,
)
from orders.payments.provider import (
    Charge,
    ChargeStatus,
    PaymentError,
    PaymentMethodRefused,
    PaymentProvider,
    PaymentProviderError,
    PaymentsOpenCircuit,
    PaymentTimeout,
    Refund,
)

__all__ = [
    "CARD_FIELD_NAMES",
    "PAYMENT_METHOD_ID",
    "PM_AUTHENTICATION_REQUIRED",
    "PM_DECLINED",
    "PM_SUCCEEDS",
    "PM_TIMEOUT",
    "PM_TIMEOUT_THEN_DECLINED",
    "TEST_PAYMENT_METHODS",
    "Charge",
    "ChargeStatus",
    "PaymentError",
    "PaymentMethodRefused",
    "PaymentProvider",
    "PaymentProviderError",
    "PaymentTimeout",
    "PaymentsOpenCircuit",
    "Refund",
    "TestPaymentProvider",
    "cancel_payment",
    "check_payment_method",
    "confirm_payment",
    "create_payment",
    "get_provider",
    "guarded",
    "has_card_data",
    "is_circuit_open",
    "retrieve",
    "test_payment_method_choices",
]
