"""The Stripe payment provider, through the official ``stripe`` library.

One PaymentIntent per checkout: created (amount of all its orders, ``metadata.checkout_id``,
``transfer_group`` = the checkout when ``STRIPE_SUPPORTS_TRANSFER_GROUP``) and stored on the
checkout before it is confirmed with the buyer's payment method, each request with an
idempotency key derived from the checkout's. Sellers are paid with "separate charges and
transfers": one Transfer per order from the PaymentIntent's charge (``source_transaction``).

``STRIPE_API_BASE`` / ``STRIPE_CONNECT_API_BASE`` point the same code at Stripe, or in tests at
localstripe (payments) and a local Connect fake (accounts, transfers, reversals), which
localstripe lacks.
"""

from __future__ import annotations

from decimal import Decimal

import stripe
from django.conf import settings

from orders.payments import Charge, ChargeStatus, PaymentProviderError, Refund

CENT = Decimal("0.01")


def to_cents(amount: Decimal) -> int:
    return int((amount / CENT).to_integral_value())


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) * CENT).quantize(CENT)


def _client(api_base: str) -> stripe.StripeClient:
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses={"api": api_base},
        max_network_retries=0,  # our own timeout, breaker and resolver decide about retries
    )


def _charge_id(intent) -> str:
    latest = getattr(intent, "latest_charge", None)
    if latest is None:
        return ""
    return latest if isinstance(latest, str) else latest.id


class StripePaymentProvider:
    """``orders.payments.PaymentProvider`` on Stripe, plus the Connect calls that pay sellers."""

    def __init__(self) -> None:
        self.client = _client(settings.STRIPE_API_BASE)
        self.connect = _client(settings.STRIPE_CONNECT_API_BASE)

    # --- payments -------------------------------------------------------------------------
    def check_payment_method(self, *, payment_method: str) -> str:
        try:
            self.client.v1.payment_methods.retrieve(payment_method)
        except stripe.InvalidRequestError as exc:
            if exc.http_status == 404:
                return exc.code or "resource_missing"
            raise PaymentProviderError(str(exc)) from exc
        except stripe.StripeError as exc:
            raise PaymentProviderError(str(exc)) from exc
        return ""

    def create_payment(
        self, *, amount: Decimal, currency: str, idempotency_key: str, description: str = "", metadata=None
    ) -> str:
        params = {
            "amount": to_cents(amount),
            "currency": currency.lower(),
            "payment_method_types": ["card"],
            "metadata": metadata or {},
        }
        if settings.STRIPE_SUPPORTS_TRANSFER_GROUP and metadata and metadata.get("checkout_id"):
            params["transfer_group"] = f"checkout_{metadata['checkout_id']}"
        try:
            intent = self.client.v1.payment_intents.create(
                params=params, options={"idempotency_key": f"{idempotency_key}:create"}
            )
        except stripe.StripeError as exc:
            raise PaymentProviderError(str(exc)) from exc
        return intent.id

    def confirm_payment(
        self, *, payment_id: str, payment_method: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> Charge:
        try:
            intent = self.client.v1.payment_intents.retrieve(payment_id)
            if intent.status in ("requires_payment_method", "requires_confirmation"):
                if intent.status == "requires_payment_method":
                    self.client.v1.payment_intents.update(payment_id, params={"payment_method": payment_method})
                intent = self.client.v1.payment_intents.confirm(
                    payment_id, options={"idempotency_key": f"{idempotency_key}:confirm"}
                )
        except stripe.CardError as exc:
            code = (exc.error.decline_code if exc.error else None) or exc.code or "card_declined"
            return Charge(
                id="",
                status=ChargeStatus.DECLINED,
                amount=amount,
                currency=currency,
                decline_code=code,
                payment_id=payment_id,
            )
        except stripe.StripeError as exc:
            raise PaymentProviderError(str(exc)) from exc
        return self._as_charge(intent)

    def retrieve(self, *, payment_id: str, idempotency_key: str = "") -> Charge | None:
        if not payment_id:
            return None  # never created, so never confirmed: nothing was charged
        try:
            intent = self.client.v1.payment_intents.retrieve(payment_id)
        except stripe.InvalidRequestError as exc:
            if exc.http_status == 404:
                return None
            raise PaymentProviderError(str(exc)) from exc
        except stripe.StripeError as exc:
            raise PaymentProviderError(str(exc)) from exc
        if intent.status == "requires_payment_method" and not intent.last_payment_error:
            return None  # created but never confirmed
        return self._as_charge(intent)

    def cancel_payment(self, *, payment_id: str, idempotency_key: str = "") -> Charge:
        try:
            intent = self.client.v1.payment_intents.retrieve(payment_id)
            if intent.status in ("requires_payment_method", "requires_confirmation", "requires_action"):
                intent = self.client.v1.payment_intents.cancel(
                    payment_id, options={"idempotency_key": f"{idempotency_key}:cancel"}
                )
        except stripe.StripeError as exc:
            raise PaymentProviderError(str(exc)) from exc
        return self._as_charge(intent)

    def refund(
        self, *, payment_id: str, charge_idempotency_key: str = "", amount: Decimal, idempotency_key: str
    ) -> Refund:
        try:
            refund = self.client.v1.refunds.create(
                params={"payment_intent": payment_id, "amount": to_cents(amount)},
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise PaymentProviderError(str(exc)) from exc
        return Refund(id=refund.id, charge_id=getattr(refund, "charge", "") or "", amount=from_cents(refund.amount))

    # --- Connect: payout accounts and transfers (separate charges and transfers) -------------
    def create_payout_account(self, *, shop_id: int, email: str) -> str:
        try:
            account = self.connect.v1.accounts.create(
                params={"type": "express", "email": email, "metadata": {"shop_id": str(shop_id)}},
                options={"idempotency_key": f"payout-account:shop:{shop_id}"},
            )
        except stripe.StripeError as exc:
            raise PaymentProviderError(str(exc)) from exc
        return account.id

    def create_account_link(self, *, account_id: str, refresh_url: str, return_url: str) -> str:
        try:
            link = self.connect.v1.account_links.create(
                params={
                    "account": account_id,
                    "refresh_url": refresh_url,
                    "return_url": return_url,
                    "type": "account_onboarding",
                }
            )
        except stripe.StripeError as exc:
            raise PaymentProviderError(str(exc)) from exc
        return link.url

    def create_transfer(
        self,
        *,
        amount: Decimal,
        currency: str,
        destination: str,
        source_transaction: str,
        transfer_group: str,
        idempotency_key: str,
    ) -> str:
        params = {
            "amount": to_cents(amount),
            "currency": currency.lower(),
            "destination": destination,
            "transfer_group": transfer_group,
        }
        if source_transaction:
            params["source_transaction"] = source_transaction
        try:
            transfer = self.connect.v1.transfers.create(params=params, options={"idempotency_key": idempotency_key})
        except stripe.StripeError as exc:
            raise PaymentProviderError(str(exc)) from exc
        return transfer.id

    def reverse_transfer(self, *, transfer_id: str, amount: Decimal, idempotency_key: str) -> str:
        try:
            reversal = self.connect.v1.transfers.reversals.create(
                transfer_id, params={"amount": to_cents(amount)}, options={"idempotency_key": idempotency_key}
            )
        except stripe.StripeError as exc:
            raise PaymentProviderError(str(exc)) from exc
        return reversal.id

    @staticmethod
    def _as_charge(intent) -> Charge:
        status = {
            "succeeded": ChargeStatus.SUCCEEDED,
            "requires_action": ChargeStatus.REQUIRES_ACTION,
            "canceled": ChargeStatus.DECLINED,
        }.get(intent.status, ChargeStatus.PROCESSING)
        error = getattr(intent, "last_payment_error", None)
        if intent.status == "requires_payment_method" and error:
            status = ChargeStatus.DECLINED
        decline_code = ""
        if status == ChargeStatus.DECLINED:
            decline_code = (error.get("decline_code") or error.get("code") if error else None) or intent.status
        return Charge(
            id=_charge_id(intent),
            status=status,
            amount=from_cents(intent.amount),
            currency=intent.currency.upper(),
            decline_code=decline_code,
            payment_id=intent.id,
            client_secret=intent.client_secret if status == ChargeStatus.REQUIRES_ACTION else "",
        )
