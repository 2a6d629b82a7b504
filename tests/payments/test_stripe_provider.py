"""Checkout through the Stripe provider (the official library) against localstripe, and its webhooks."""

from decimal import Decimal

import pytest

from cart.models import CartItem
from orders.models import Checkout, Order
from payments.models import WebhookEvent
from tests.api.conftest import error_of
from tests.payments.conftest import ADDRESS, LS_DECLINED, LS_SUCCEEDS, post_event, signed_event

pytestmark = pytest.mark.django_db


def _checkout(client, payment_method, key="k1"):
    return client.post(
        "/api/v1/checkout",
        {"address": ADDRESS, "payment_method": payment_method},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def test_one_payment_intent_per_checkout_for_all_its_orders(stripe_client, buyer_client, buyer, two_shop_cart):
    response = _checkout(buyer_client, LS_SUCCEEDS)
    assert response.status_code == 201, response.content
    checkout = Checkout.objects.get()
    assert checkout.payment_status == "paid" and checkout.provider_payment_id.startswith("pi_")
    intent = stripe_client.v1.payment_intents.retrieve(checkout.provider_payment_id)
    assert intent.status == "succeeded"
    assert intent.amount == int(checkout.total * 100) == 7749  # two shops, one payment
    assert intent.metadata["checkout_id"] == str(checkout.pk)
    assert checkout.provider_charge_id.startswith("ch_")
    assert set(Order.objects.values_list("status", flat=True)) == {"paid"}


def test_declined_payment_is_402_with_the_provider_code(stripe_settings, buyer_client, buyer, two_shop_cart):
    response = _checkout(buyer_client, LS_DECLINED)
    assert response.status_code == 402
    error = error_of(response)
    assert error["code"] == "payment_declined" and error["extra"]["decline_code"] == "card_declined"
    assert Checkout.objects.get().payment_status == "declined"
    assert CartItem.objects.filter(user=buyer).count() == 3  # restored


def test_unknown_payment_method_is_402_and_nothing_is_created(stripe_settings, buyer_client, buyer, two_shop_cart):
    response = _checkout(buyer_client, "pm_1NoSuchMethodAnywhere")
    assert response.status_code == 402
    error = error_of(response)
    assert error["code"] == "payment_method_refused" and error["extra"]["decline_code"] == "resource_missing"
    assert not Checkout.objects.exists() and not Order.objects.exists()


def test_3d_secure_answers_the_client_secret_then_the_webhook_pays(
    stripe_client, stripe_settings, client, buyer_client, buyer, two_shop_cart
):
    method = stripe_client.v1.payment_methods.create(
        params={"type": "card", "card": {"number": "4000002500003155", "exp_month": 12, "exp_year": 2030, "cvc": "123"}}
    )
    response = _checkout(buyer_client, method.id)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["payment_status"] == "requires_action" and body["client_secret"].startswith("pi_")
    checkout = Checkout.objects.get()
    assert checkout.payment_status == "requires_action"
    assert set(Order.objects.values_list("status", flat=True)) == {"pending_payment"}

    # The app finishes 3-D Secure with the provider (localstripe's stand-in for the bank's page)...
    stripe_client.raw_request(
        "post",
        f"/v1/payment_intents/{checkout.provider_payment_id}/_authenticate",
        client_secret=body["client_secret"],
        success="true",
    )
    intent = stripe_client.v1.payment_intents.retrieve(checkout.provider_payment_id)
    assert intent.status == "succeeded"
    # ...and Stripe tells us through the signed webhook.
    payload, signature = signed_event("payment_intent.succeeded", intent.to_dict(), event_id="evt_3ds_1")
    answer = post_event(client, payload, signature)
    assert answer.status_code == 200 and answer.json()["outcome"] == "paid"
    assert Checkout.objects.get().payment_status == "paid"
    assert set(Order.objects.values_list("status", flat=True)) == {"paid"}
    # A replay has no second effect.
    again = post_event(client, payload, signature)
    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    assert WebhookEvent.objects.filter(event_id="evt_3ds_1").count() == 1


def test_webhook_with_a_bad_signature_is_400_and_changes_nothing(stripe_client, client, buyer_client, two_shop_cart):
    method = stripe_client.v1.payment_methods.create(
        params={"type": "card", "card": {"number": "4000002500003155", "exp_month": 12, "exp_year": 2030, "cvc": "123"}}
    )
    assert _checkout(buyer_client, method.id).status_code == 202
    checkout = Checkout.objects.get()
    intent = {"id": checkout.provider_payment_id, "amount": int(checkout.total * 100), "currency": "usd"}
    payload, _ = signed_event("payment_intent.succeeded", intent)
    _, forged = signed_event("payment_intent.succeeded", intent, secret="whsec_someone_else")
    for signature in (forged, "", "t=1,v1=deadbeef"):
        response = post_event(client, payload, signature)
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_signature"
    assert Checkout.objects.get().payment_status == "requires_action"
    assert not WebhookEvent.objects.exists()


def test_payment_failed_webhook_cancels_like_the_resolver(stripe_client, client, buyer_client, two_shop_cart):
    method = stripe_client.v1.payment_methods.create(
        params={"type": "card", "card": {"number": "4000002500003155", "exp_month": 12, "exp_year": 2030, "cvc": "123"}}
    )
    assert _checkout(buyer_client, method.id).status_code == 202
    checkout = Checkout.objects.get()
    intent = {"id": checkout.provider_payment_id, "amount": int(checkout.total * 100), "currency": "usd"}
    payload, signature = signed_event("payment_intent.payment_failed", intent)
    assert post_event(client, payload, signature).json()["outcome"] == "declined"
    assert Checkout.objects.get().payment_status == "declined"
    assert set(Order.objects.values_list("status", flat=True)) == {"cancelled"}


def test_webhook_amount_that_disagrees_with_our_books_is_refused_and_counted(
    stripe_client, client, buyer_client, two_shop_cart
):
    from etsy import metrics

    method = stripe_client.v1.payment_methods.create(
        params={"type": "card", "card": {"number": "4000002500003155", "exp_month": 12, "exp_year": 2030, "cvc": "123"}}
    )
    assert _checkout(buyer_client, method.id).status_code == 202
    checkout = Checkout.objects.get()
    before = metrics.payment_books_mismatches.labels(kind="payment_amount")._value.get()
    intent = {"id": checkout.provider_payment_id, "amount": 100, "currency": "usd", "latest_charge": "ch_x"}
    payload, signature = signed_event("payment_intent.succeeded", intent)
    assert post_event(client, payload, signature).json()["outcome"] == "amount_mismatch"
    assert Checkout.objects.get().payment_status == "requires_action"
    assert metrics.payment_books_mismatches.labels(kind="payment_amount")._value.get() == before + 1


def test_resolver_looks_up_an_unknown_outcome_by_the_stored_payment_id(
    stripe_client, stripe_settings, buyer, two_shop_cart
):
    from orders.services.checkout import resolve_checkout_payment

    result = __import__("orders.services.checkout", fromlist=["place_order"]).place_order(
        buyer=buyer,
        address=__import__("orders.services.checkout", fromlist=["x"]).ShippingAddress(**ADDRESS),
        payment_method=LS_SUCCEEDS,
        idempotency_key="resolver-1",
    )
    checkout = result.checkout
    # Pretend the confirmation's answer was lost: the checkout is unknown, the provider has the payment.
    Checkout.objects.filter(pk=checkout.pk).update(payment_status="unknown", provider_charge_id="")
    Order.objects.filter(checkout=checkout).update(status="pending_payment")
    assert resolve_checkout_payment(checkout_id=checkout.pk) == "paid"
    assert (
        Decimal(stripe_client.v1.payment_intents.retrieve(checkout.provider_payment_id).amount) == checkout.total * 100
    )


def test_charge_refunded_webhook_matching_our_books_is_recorded_and_a_larger_one_is_flagged(
    stripe_client, client, buyer_client, seller_client, shop, two_shop_cart
):
    from etsy import metrics
    from tests.payments.conftest import run_outbox

    assert _checkout(buyer_client, LS_SUCCEEDS).status_code == 201
    run_outbox("checkout.paid")
    checkout = Checkout.objects.get()
    mine = Order.objects.get(shop=shop)
    assert (
        seller_client.post(f"/api/v1/seller/orders/{mine.pk}/refund", {"amount": "4.00"}, format="json").status_code
        == 200
    )
    charge = {"id": checkout.provider_charge_id, "payment_intent": checkout.provider_payment_id, "amount_refunded": 400}
    payload, signature = signed_event("charge.refunded", charge)
    assert post_event(client, payload, signature).json()["outcome"] == "recorded"
    before = metrics.payment_books_mismatches.labels(kind="refund_amount")._value.get()
    payload, signature = signed_event("charge.refunded", {**charge, "amount_refunded": 900})
    assert post_event(client, payload, signature).json()["outcome"] == "refund_mismatch"
    assert metrics.payment_books_mismatches.labels(kind="refund_amount")._value.get() == before + 1


def test_dispute_holds_the_amount_across_the_shops_once_and_a_won_dispute_releases_it(
    stripe_settings, client, buyer_client, two_shop_cart
):
    from payments.models import LedgerEntry
    from tests.payments.conftest import run_outbox

    assert _checkout(buyer_client, LS_SUCCEEDS).status_code == 201
    run_outbox("checkout.paid")
    checkout = Checkout.objects.get()
    cents = int(checkout.total * 100)
    dispute = {"id": "dp_1", "charge": checkout.provider_charge_id, "amount": cents, "status": "needs_response"}
    payload, signature = signed_event("charge.dispute.created", dispute)
    assert post_event(client, payload, signature).json()["outcome"] == "held"
    assert post_event(client, payload, signature).json()["outcome"] == "duplicate"
    holds = LedgerEntry.objects.filter(kind="dispute")
    assert holds.count() == 2 and sum(h.amount for h in holds) == -checkout.total
    for hold in holds:  # each shop holds its order's part
        assert hold.amount == -Order.objects.get(pk=hold.order_id).total
    payload, signature = signed_event("charge.dispute.closed", {**dispute, "status": "won"})
    assert post_event(client, payload, signature).json()["outcome"] == "released"
    assert sum(e.amount for e in LedgerEntry.objects.filter(kind="dispute")) == 0


def test_html_checkout_with_stripe_loads_the_payment_element_and_takes_only_its_id(
    stripe_settings, client, buyer, two_shop_cart
):
    client.force_login(buyer)
    page = client.get("/orders/checkout/")
    html = page.content.decode()
    assert f'<script src="{stripe_settings.STRIPE_JS_URL}"></script>' in html
    assert 'id="payment-element"' in html and 'data-stripe-key="pk_test_money"' in html
    assert 'type="hidden" name="payment_method"' in html and 'type="radio"' not in html
    token = page.context["form"]["token"].value()
    form = {"ship_name": "Bea", "ship_line1": "1 Market St", "ship_city": "Hudson", "ship_postcode": "12534"}
    response = client.post(
        "/orders/checkout/", {**form, "ship_country": "US", "payment_method": LS_SUCCEEDS, "token": token}
    )
    assert response.status_code == 303
    assert Checkout.objects.get().payment_status == "paid"


def test_csp_allows_exactly_the_stripe_js_origin_when_stripe_is_configured():
    import os
    import subprocess
    import sys
    from pathlib import Path

    probe = "import django;django.setup();from django.conf import settings as s;print(s.CONTENT_SECURITY_POLICY)"
    env = {k: v for k, v in os.environ.items() if k != "CONTENT_SECURITY_POLICY"}
    env |= {"DJANGO_SETTINGS_MODULE": "etsy.settings", "STRIPE_JS_URL": "https://js.stripe.com/v3/"}
    root = Path(__file__).resolve().parents[2]

    def policy(provider: str) -> str:
        result = subprocess.run(
            [sys.executable, "-c", probe],
            cwd=root,
            env={**env, "PAYMENT_PROVIDER": provider},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout.strip().splitlines()[-1]

    stripe_policy = policy("orders.payments_stripe.StripePaymentProvider")
    assert "script-src 'self' https://js.stripe.com;" in stripe_policy
    assert "frame-src https://js.stripe.com;" in stripe_policy
    assert "connect-src 'self' https://api.stripe.com;" in stripe_policy
    assert "stripe" not in policy("orders.payments.TestPaymentProvider")


def test_abandoned_3d_secure_payment_is_cancelled_at_stripe_before_the_orders_are(
    stripe_client, client, buyer_client, two_shop_cart
):
    from datetime import timedelta

    from django.utils import timezone

    from etsy import metrics
    from orders.services.checkout import resolve_checkout_payment

    method = stripe_client.v1.payment_methods.create(
        params={"type": "card", "card": {"number": "4000002500003155", "exp_month": 12, "exp_year": 2030, "cvc": "123"}}
    )
    assert _checkout(buyer_client, method.id).status_code == 202
    checkout = Checkout.objects.get()
    assert resolve_checkout_payment(checkout_id=checkout.pk) == "requires_action"  # young: left alone
    Checkout.objects.filter(pk=checkout.pk).update(created_at=timezone.now() - timedelta(hours=1))
    assert resolve_checkout_payment(checkout_id=checkout.pk) == "cancelled"
    assert stripe_client.v1.payment_intents.retrieve(checkout.provider_payment_id).status == "canceled"
    assert set(Order.objects.values_list("status", flat=True)) == {"cancelled"}
    # Should the provider still report a success for it, it is flagged, never booked as a sale.
    before = metrics.payment_books_mismatches.labels(kind="payment_for_settled_checkout")._value.get()
    intent = {"id": checkout.provider_payment_id, "amount": int(checkout.total * 100), "currency": "usd"}
    payload, signature = signed_event("payment_intent.succeeded", intent)
    assert post_event(client, payload, signature).json()["outcome"] == "payment_for_settled_checkout"
    assert metrics.payment_books_mismatches.labels(kind="payment_for_settled_checkout")._value.get() == before + 1
    assert Checkout.objects.get().payment_status == "cancelled"
