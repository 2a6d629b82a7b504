"""Cart rule errors. They know nothing about HTTP; ``status_code`` is a hint for adapters."""

from etsy.exceptions import DomainError, NotFound

MAX_LINE_QUANTITY = 10_000  # units of one listing in one cart line (the API schema states it too)


class InvalidQuantity(DomainError):
    code = "invalid_quantity"
    status_code = 400
    default_message = f"Quantity must be a whole number from 1 to {MAX_LINE_QUANTITY:,}."


class InsufficientStock(DomainError):
    """More units were asked for than the listing has. ``extra``: available, requested."""

    code = "insufficient_stock"
    default_message = "There are not enough of this item in stock."


class AlreadyInCart(DomainError):
    """A one-of-a-kind item is already in this cart (a second add changes nothing). ``extra``: product_id."""

    code = "already_in_cart"
    default_message = "This one-of-a-kind item is already in your cart."


class ItemReserved(DomainError):
    """Another buyer holds this unique item. ``extra``: product_id, reserved_until (ISO 8601)."""

    code = "item_reserved"
    default_message = "Someone else is checking out this item. Try again after the hold ends."


class CartChanged(DomainError):
    """The cart changed while checkout was locking it; the buyer should review and retry."""

    code = "cart_changed"
    default_message = "Your cart changed while you were checking out. Please review it and try again."


class CartLineNotFound(NotFound):
    code = "cart_line_not_found"
    default_message = "That line is not in your cart."
