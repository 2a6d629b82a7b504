"""Payment methods: the test provider's ids, the shape of an id, the card fields no request may carry."""

from __future__ import annotations

import re

PM_SUCCEEDS = "pm_card_visa"
PM_DECLINED = "pm_card_chargeDeclined"
PM_AUTHENTICATION_REQUIRED = "pm_card_authenticationRequired"
PM_TIMEOUT = "pm_card_timeout"
PM_TIMEOUT_THEN_DECLINED = "pm_card_timeoutThenDeclined"
# The test provider's choices, offered as plain radio buttons on the HTML checkout (no JavaScript needed).
TEST_PAYMENT_METHODS = [
    (PM_SUCCEEDS, "Test Visa: payment succeeds"),
    (PM_DECLINED, "Test card that is declined"),
    (PM_AUTHENTICATION_REQUIRED, "Test card that asks for 3-D Secure authentication"),
    (PM_TIMEOUT, "Test card whose provider answers too late (the payment succeeds later)"),
]
PAYMENT_METHOD_ID = re.compile(r"^pm_[A-Za-z0-9_]{1,250}$")
# Request fields that would carry card data: refused by the API and the HTML checkout alike.
CARD_FIELD_NAMES = frozenset({"card", "card_number", "number", "cvc", "cvv", "cvv2", "pan", "expiry"})


def has_card_data(data, *, depth: int = 0) -> bool:
    """Whether a request body carries a card field (``card_number``, ``cvc``, ``exp_*``...) at any level."""
    if depth > 4 or not isinstance(data, dict):
        return False
    for key, value in data.items():
        name = str(key).lower()
        if name in CARD_FIELD_NAMES or name.startswith(("exp_", "card_")):
            return True
        if has_card_data(value, depth=depth + 1):
            return True
    return False
