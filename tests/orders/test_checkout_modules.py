"""The checkout's modules: orders.services.checkout still names everything callers and tests import from it."""

from __future__ import annotations

from pathlib import Path

from orders.services import checkout, checkout_cancellation, checkout_payment, checkout_placing


def test_checkout_module_keeps_its_public_names_as_the_capability_modules_objects():
    assert checkout.place_order is checkout_payment.place_order
    assert checkout.ShippingAddress is checkout_placing.ShippingAddress
    assert checkout._cancel_orders is checkout_cancellation._cancel_orders
    for name in checkout.__all__:
        assert getattr(checkout, name) is not None


def test_each_checkout_module_stays_well_under_the_house_limit():
    services = Path(checkout.__file__).parent
    for module in services.glob("checkout*.py"):
        assert len(module.read_text().splitlines()) < 350, module.name
