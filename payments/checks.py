"""System checks: the production profile refuses to start with a payment set-up that cannot take real money."""

from __future__ import annotations

from django.conf import settings
from django.core import checks

TEST_PROVIDER = "orders.payments.TestPaymentProvider"


@checks.register(checks.Tags.security)
def check_payment_provider(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    if not settings.IS_PRODUCTION:
        return []
    errors = []
    if settings.PAYMENT_PROVIDER == TEST_PROVIDER:
        errors.append(
            checks.Error(
                "The test payment provider is configured in production: it takes no real money.",
                hint="Set PAYMENT_PROVIDER=orders.payments_stripe.StripePaymentProvider and the STRIPE_* variables.",
                id="payments.E001",
            )
        )
    if settings.PAYMENT_PROVIDER.endswith("StripePaymentProvider"):
        if not settings.STRIPE_WEBHOOK_SECRET:
            errors.append(
                checks.Error(
                    "The Stripe provider has no webhook secret: payment events could not be verified.",
                    hint="Set STRIPE_WEBHOOK_SECRET (whsec_...) from the webhook endpoint in Stripe's dashboard.",
                    id="payments.E002",
                )
            )
        if not settings.STRIPE_SECRET_KEY or not settings.STRIPE_PUBLISHABLE_KEY:
            errors.append(
                checks.Error(
                    "The Stripe provider needs STRIPE_SECRET_KEY and STRIPE_PUBLISHABLE_KEY.",
                    id="payments.E003",
                )
            )
    return errors
