"""The payment calls as a package: ``orders.payments`` still names everything callers, settings and tests use."""

from __future__ import annotations

from pathlib import Path

from django.utils.module_loading import import_string

from orders import payments
from orders.payments import builtin_provider, calls, provider
from payments.checks import TEST_PROVIDER


def test_payments_keep_their_public_names_as_the_capability_modules_objects():
    assert payments.confirm_payment is calls.confirm_payment
    assert payments.Charge is provider.Charge
    assert payments.PaymentError is provider.PaymentError
    for name in payments.__all__:
        assert getattr(payments, name) is not None


def test_the_test_provider_is_still_configured_by_its_old_dotted_path():
    assert import_string(TEST_PROVIDER) is builtin_provider.TestPaymentProvider


def test_each_payments_module_stays_well_under_the_house_limit():
    for module in Path(payments.__file__).parent.glob("*.py"):
        assert len(module.read_text().splitlines()) < 350, module.name
