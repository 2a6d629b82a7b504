"""Refunds by the seller: full or partial, never above what was paid, reversing the transfer's and fees' share."""

from decimal import Decimal

import pytest
from django.core import mail

from catalog.models import Product
from orders.models import Checkout, Order
from payments.models import LedgerEntry
from tests.api.conftest import error_of
from tests.payments.conftest import ADDRESS, LS_SUCCEEDS, run_outbox

pytestmark = pytest.mark.django_db


def _pay(client, payment_method, key="r1"):
    response = client.post(
        "/api/v1/checkout",
        {"address": ADDRESS, "payment_method": payment_method},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )
    assert response.status_code == 201, response.content
    run_outbox("checkout.paid")
    return Checkout.objects.get()


def _entries(order):
    return sorted((e.kind, e.amount) for e in LedgerEntry.objects.filter(order=order))


def _sum(order, *kinds):
    return sum((e.amount for e in LedgerEntry.objects.filter(order=order, kind__in=kinds)), Decimal("0.00"))


def test_acceptance_two_shops_through_stripe_then_a_partial_refund_reverses_the_right_share(
    stripe_client, connect_fake, buyer_client, seller_client, shop, two_shop_cart
):
    checkout = _pay(buyer_client, LS_SUCCEEDS)
    intent = stripe_client.v1.payment_intents.retrieve(checkout.provider_payment_id)
    assert intent.amount == int(checkout.total * 100)  # one PaymentIntent for both shops
    assert len(connect_fake.transfers) == 2
    orders = list(Order.objects.filter(checkout=checkout).order_by("shop_id"))
    for order in orders:
        assert _sum(order, "sale", "fee") == order.net  # each shop's entries sum to its order's net

    mine = Order.objects.get(shop=shop)  # 40.89, fees 2.66 + 1.48, net 36.75
    response = seller_client.post(f"/api/v1/seller/orders/{mine.pk}/refund", {"amount": "10.00"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    fee_share = (mine.fees * Decimal("10.00") / mine.total).quantize(Decimal("0.01"))
    assert body == {"order_id": mine.pk, "amount": "10.00", "fee_refund": str(fee_share), "remaining": "30.89"}
    assert run_outbox("payments.refund_issued") == 1
    refunds = stripe_client.v1.refunds.list(params={"payment_intent": checkout.provider_payment_id})
    assert [r.amount for r in refunds.data] == [1000]
    [reversal] = connect_fake.reversals
    assert reversal["amount"] == int((Decimal("10.00") - fee_share) * 100)
    transfer = connect_fake.transfers[reversal["transfer"]]
    assert transfer["destination"] == Order.objects.get(pk=mine.pk).shop.payout_account_id
    assert _entries(mine) == sorted(
        [
            ("sale", mine.total),
            ("fee", -mine.fees),
            ("payout", -mine.net),
            ("refund", Decimal("-10.00")),
            ("fee_refund", fee_share),
            ("payout", Decimal("10.00") - fee_share),
        ]
    )
    assert sum(e.amount for e in LedgerEntry.objects.filter(shop=shop)) == 0  # everything owed was transferred
    assert [m.to for m in mail.outbox if "refunded" in m.subject] == [[mine.buyer.email]]


def test_refund_above_what_was_paid_is_400_and_the_ledger_is_unchanged(
    buyer_client, seller_client, shop, two_shop_cart
):
    _pay(buyer_client, "pm_card_visa")
    mine = Order.objects.get(shop=shop)
    before = _entries(mine)
    response = seller_client.post(f"/api/v1/seller/orders/{mine.pk}/refund", {"amount": "40.90"}, format="json")
    assert response.status_code == 400 and error_of(response)["code"] == "refund_too_large"
    assert error_of(response)["extra"]["remaining"] == "40.89"
    assert (
        seller_client.post(f"/api/v1/seller/orders/{mine.pk}/refund", {"amount": "0.00"}, format="json").status_code
        == 400
    )
    assert _entries(mine) == before
    # two refunds never add up to more than was paid
    assert (
        seller_client.post(f"/api/v1/seller/orders/{mine.pk}/refund", {"amount": "40.00"}, format="json").status_code
        == 200
    )
    again = seller_client.post(f"/api/v1/seller/orders/{mine.pk}/refund", {"amount": "1.00"}, format="json")
    assert again.status_code == 400 and error_of(again)["extra"]["remaining"] == "0.89"


def test_refund_of_another_shops_order_is_404_and_changes_nothing(buyer_client, seller_client, shop, two_shop_cart):
    _pay(buyer_client, "pm_card_visa")
    theirs = Order.objects.exclude(shop=shop).get()
    before = _entries(theirs)
    response = seller_client.post(f"/api/v1/seller/orders/{theirs.pk}/refund", {}, format="json")
    assert response.status_code == 404
    assert _entries(theirs) == before


def test_full_refund_without_amount_closes_the_books_to_the_cent_and_restocks_only_when_asked(
    buyer_client, seller_client, shop, two_shop_cart
):
    _pay(buyer_client, "pm_card_visa")
    mine = Order.objects.get(shop=shop)
    stock = {p.pk: p.quantity for p in Product.objects.filter(shop=shop)}
    assert (
        seller_client.post(f"/api/v1/seller/orders/{mine.pk}/refund", {"amount": "5.55"}, format="json").status_code
        == 200
    )
    rest = seller_client.post(f"/api/v1/seller/orders/{mine.pk}/refund", {"restock": True}, format="json")
    assert rest.status_code == 200 and rest.json()["amount"] == "35.34" and rest.json()["remaining"] == "0.00"
    assert run_outbox("payments.refund_issued") == 2
    assert _sum(mine, "refund") == -mine.total and _sum(mine, "fee", "fee_refund") == 0
    assert _sum(mine, "payout") == 0  # the whole transfer was reversed
    assert {p.pk: p.quantity for p in Product.objects.filter(shop=shop)} == {
        pk: stock[pk] + sum(i.quantity for i in mine.items.filter(product_id=pk)) for pk in stock
    }


def test_partial_refund_does_not_restock(buyer_client, seller_client, shop, two_shop_cart):
    _pay(buyer_client, "pm_card_visa")
    mine = Order.objects.get(shop=shop)
    stock = {p.pk: p.quantity for p in Product.objects.filter(shop=shop)}
    response = seller_client.post(
        f"/api/v1/seller/orders/{mine.pk}/refund", {"amount": "5.00", "restock": True}, format="json"
    )
    assert response.status_code == 200
    assert {p.pk: p.quantity for p in Product.objects.filter(shop=shop)} == stock


def test_cancelling_a_paid_order_refunds_it_through_the_ledger(buyer_client, seller_client, shop, two_shop_cart):
    _pay(buyer_client, "pm_card_visa")
    mine = Order.objects.get(shop=shop)
    assert seller_client.post(f"/api/v1/seller/orders/{mine.pk}/cancel", {}, format="json").status_code == 200
    run_outbox("order.refund")
    run_outbox("payments.refund_issued")
    assert _sum(mine, "refund") == -mine.total and _sum(mine, "payout") == 0
    assert sum(e.amount for e in LedgerEntry.objects.filter(shop=shop)) == 0
