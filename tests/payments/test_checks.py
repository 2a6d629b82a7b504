"""Production safety: system check errors for a payment set-up that cannot take real money."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from payments.checks import check_payment_provider


def _ids(settings):
    return [e.id for e in check_payment_provider()]


def test_development_may_use_the_test_provider(settings):
    settings.IS_PRODUCTION = False
    settings.PAYMENT_PROVIDER = "orders.payments.TestPaymentProvider"
    assert _ids(settings) == []


def test_production_refuses_the_test_provider(settings):
    settings.IS_PRODUCTION = True
    settings.PAYMENT_PROVIDER = "orders.payments.TestPaymentProvider"
    assert _ids(settings) == ["payments.E001"]
    with pytest.raises(SystemCheckError, match="payments.E001"):
        call_command("check")


def test_production_refuses_stripe_without_a_webhook_secret(settings):
    settings.IS_PRODUCTION = True
    settings.PAYMENT_PROVIDER = "orders.payments_stripe.StripePaymentProvider"
    settings.STRIPE_SECRET_KEY, settings.STRIPE_PUBLISHABLE_KEY = "sk_live_x", "pk_live_x"
    settings.STRIPE_WEBHOOK_SECRET = ""
    assert _ids(settings) == ["payments.E002"]
    settings.STRIPE_WEBHOOK_SECRET = "whsec_x"
    assert _ids(settings) == []
