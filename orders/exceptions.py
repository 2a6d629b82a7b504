"""Order and checkout rule errors. ``status_code`` is a hint for HTTP adapters only."""

from cart.exceptions import ItemReserved  # noqa: F401  (checkout raises it too; one class for both)
from etsy.exceptions import DomainError, NotFound, ServiceUnavailable


class OrderNotFound(NotFound):
    code = "order_not_found"
    default_message = "That order does not exist."


class CartEmpty(DomainError):
    code = "cart_empty"
    status_code = 400
    default_message = "Your cart is empty."


class ItemUnavailable(DomainError):
    """Some lines can no longer be bought. ``extra["products"]``: [{"id", "title"}]."""

    code = "item_unavailable"
    default_message = "Some items in your cart are no longer available."


class CartTotalChanged(DomainError):
    """The cart's total is not the ``expected_total`` the buyer saw; nothing was charged.

    ``extra``: expected_total, total (decimal strings).
    """

    code = "cart_total_changed"
    default_message = "Your cart's total changed since you last saw it. Nothing was charged; review it and try again."


class InvalidAddress(DomainError):
    """``extra["fields"]``: {field: message}."""

    code = "invalid_address"
    status_code = 400
    default_message = "The shipping address is incomplete."


class PaymentDeclined(DomainError):
    """The provider refused the card. The orders were cancelled and restocked and the cart restored.

    ``extra``: checkout_id, decline_code.
    """

    code = "payment_declined"
    status_code = 402
    default_message = "Your card was declined. Nothing was charged; try another card."


class PaymentsUnavailable(ServiceUnavailable):
    """The payment breaker is open: nothing was created."""

    code = "payments_unavailable"
    default_message = "Payments are unavailable right now, try again in a minute. Nothing was charged."


class InvalidOrderTransition(DomainError):
    code = "invalid_order_transition"
    default_message = "The order cannot move to that status."


class PaymentMethodRefused(DomainError):
    """The provider does not know or will not use the payment-method id; nothing was created or charged.

    ``extra["decline_code"]``: the provider's code (``resource_missing``, ``invalid_payment_method``...).
    """

    code = "payment_method_refused"
    status_code = 402
    default_message = "That payment method cannot be used. Nothing was charged; choose another."


class CardDataNotAccepted(DomainError):
    """A request carried card data (number, CVC, expiry): we only take the provider's payment-method id."""

    code = "card_data_not_accepted"
    status_code = 400
    default_message = (
        "Card details are never sent to us: enter them in the payment provider's form and send its "
        "payment_method id (pm_...) instead."
    )


class CheckoutBusy(DomainError):
    """Another checkout held the same items longer than the lock timeout; nothing was done."""

    code = "checkout_busy"
    default_message = "These items are being checked out by someone else right now. Please try again."


class CheckoutAlreadyPlaced(DomainError):
    """This idempotency key already produced a checkout. ``extra["checkout_id"]``."""

    code = "checkout_already_placed"
    default_message = "This checkout was already submitted."


class CheckoutInterrupted(ServiceUnavailable):
    """The database connection was lost mid-checkout (after one retry). Retrying the request with the
    same idempotency key finds the checkout it may have created and finishes it; never a second charge."""

    code = "checkout_interrupted"
    default_message = (
        "We lost contact with our database while placing your order. Retry with the same Idempotency-Key: "
        "it finishes the checkout already started and never charges twice."
    )


class OrderNotShipped(InvalidOrderTransition):
    code = "order_not_shipped"
    default_message = "This order has not shipped yet, so it cannot be marked received."


class OrderAlreadyShipped(InvalidOrderTransition):
    code = "order_already_shipped"
    default_message = "This order has already shipped, so it can no longer be cancelled."


class OrderCancelled(InvalidOrderTransition):
    code = "order_cancelled"
    default_message = "This order was cancelled."


class CancellationPending(InvalidOrderTransition):
    code = "cancellation_pending"
    default_message = "The buyer asked to cancel this order: accept or decline the request first."


class CancellationAlreadyRequested(DomainError):
    code = "cancellation_already_requested"
    default_message = "You already asked to cancel this order."


class NoCancellationRequest(DomainError):
    code = "no_cancellation_request"
    default_message = "The buyer has not asked to cancel this order."


class CancellationAlreadyDecided(DomainError):
    """``extra["decision"]``: the decision already taken."""

    code = "cancellation_already_decided"
    default_message = "This cancellation request was already decided."


class InvalidCancellationReason(DomainError):
    code = "invalid_cancellation_reason"
    status_code = 400
    default_message = "Tell the shop why you want to cancel (at most 1000 characters)."
