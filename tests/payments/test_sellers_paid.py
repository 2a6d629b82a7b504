"""Sellers get paid: fees frozen on each order, ledger entries per shop, one transfer per order."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from orders.models import Checkout, Order
from payments.models import LedgerEntry, Transfer
from shops.models import Shop
from tests.payments.conftest import ADDRESS, LS_SUCCEEDS, run_outbox

pytestmark = pytest.mark.django_db


def _checkout(client, payment_method, key="k1"):
    return client.post(
        "/api/v1/checkout",
        {"address": ADDRESS, "payment_method": payment_method},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def test_fees_are_frozen_on_each_order_by_the_rule_in_settings(settings, buyer_client, two_shop_cart):
    settings.MARKETPLACE_FEE_PERCENT = 6.5
    settings.PAYMENT_PROCESSING_PERCENT = 3.0
    settings.PAYMENT_PROCESSING_FIXED = "0.25"
    assert _checkout(buyer_client, "pm_card_visa").status_code == 201
    first = Order.objects.order_by("shop_id").first()
    # 40.89: 6.5 % = 2.66 (2.65785), 3 % + 0.25 = 1.48 (1.4767)
    assert first.total == Decimal("40.89")
    assert (first.transaction_fee, first.processing_fee, first.net) == (
        Decimal("2.66"),
        Decimal("1.48"),
        Decimal("36.75"),
    )
    settings.MARKETPLACE_FEE_PERCENT = 10  # a later change of the rule leaves placed orders alone
    first.refresh_from_db()
    assert first.transaction_fee == Decimal("2.66")


def test_two_shop_checkout_through_stripe_pays_each_shop_its_net(
    stripe_client, connect_fake, buyer_client, two_shop_cart
):
    assert _checkout(buyer_client, LS_SUCCEEDS).status_code == 201
    checkout = Checkout.objects.get()
    assert run_outbox("checkout.paid") == 1
    orders = list(Order.objects.filter(checkout=checkout).order_by("shop_id"))
    assert len(connect_fake.transfers) == 2 and Transfer.objects.count() == 2
    for order in orders:
        transfer = Transfer.objects.get(order=order)
        sent = connect_fake.transfers[transfer.provider_transfer_id]
        assert sent["amount"] == int(order.net * 100)
        assert sent["source_transaction"] == checkout.provider_charge_id  # the PaymentIntent's charge
        assert sent["transfer_group"] == f"checkout_{checkout.pk}"
        shop = Shop.objects.get(pk=order.shop_id)
        assert sent["destination"] == shop.payout_account_id and shop.payout_account_id.startswith("acct_")
        entries = {e.kind: e.amount for e in LedgerEntry.objects.filter(order=order)}
        assert entries == {"sale": order.total, "fee": -order.fees, "payout": -order.net}
        assert entries["sale"] + entries["fee"] == order.net
    assert sum(o.total for o in orders) == checkout.total  # one PaymentIntent for both
    # Running the handler again (a retried outbox row) neither transfers nor books twice.
    from payments.services.payouts import pay_sellers_for_checkout

    pay_sellers_for_checkout(checkout_id=checkout.pk)
    assert len(connect_fake.transfers) == 2 and LedgerEntry.objects.count() == 6


def test_ledger_entries_are_append_only_and_signed_per_kind(buyer_client, two_shop_cart):
    assert _checkout(buyer_client, "pm_card_visa").status_code == 201
    run_outbox("checkout.paid")
    entry = LedgerEntry.objects.filter(kind="sale").first()
    with pytest.raises(ValueError):
        entry.save()
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=Decimal("1.00"))
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).delete()
    for kind, amount in (
        ("sale", "-1.00"),
        ("fee", "1.00"),
        ("refund", "2.00"),
        ("fee_refund", "-1.00"),
        ("payout", "0"),
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            LedgerEntry.objects.create(shop_id=entry.shop_id, kind=kind, amount=Decimal(amount), key=f"x:{kind}")
    assert LedgerEntry.objects.get(pk=entry.pk).amount == entry.amount


def test_seller_payments_api_answers_balance_pending_and_entries(buyer_client, seller_client, shop, two_shop_cart):
    assert _checkout(buyer_client, "pm_card_visa").status_code == 201
    run_outbox("checkout.paid")
    body = seller_client.get("/api/v1/seller/payments").json()
    order = Order.objects.get(shop=shop)
    assert body["balance"] == "0.00" and body["pending"] == "0.00"  # all transferred
    kinds = sorted((e["kind"], e["amount"]) for e in body["entries"])
    assert kinds == sorted([("fee", str(-order.fees)), ("payout", str(-order.net)), ("sale", str(order.total))])
    assert {e["order_id"] for e in body["entries"]} == {order.pk}
    assert all(e["created_at"] for e in body["entries"])


def test_seller_payments_api_is_for_shop_owners_only(buyer_client):
    assert buyer_client.get("/api/v1/seller/payments").status_code == 403


def test_a_shop_without_payout_account_in_production_keeps_its_net_pending_until_onboarded(
    settings, buyer_client, seller_client, shop, two_shop_cart
):
    from payments.tasks import transfer_pending_payouts_task

    settings.IS_PRODUCTION = True  # no automatic test accounts
    assert _checkout(buyer_client, "pm_card_visa").status_code == 201
    run_outbox("checkout.paid")
    mine = Order.objects.get(shop=shop)
    body = seller_client.get("/api/v1/seller/payments").json()
    assert body["balance"] == body["pending"] == str(mine.net)
    assert not Transfer.objects.exists()
    assert transfer_pending_payouts_task() == 0  # still no account
    Shop.objects.filter(pk=shop.pk).update(payout_account_id="acct_test_onboarded")
    assert transfer_pending_payouts_task() == 1
    body = seller_client.get("/api/v1/seller/payments").json()
    assert body["balance"] == body["pending"] == "0.00"
    assert Transfer.objects.get(order=mine).amount == mine.net


def test_paying_the_sellers_of_a_two_shop_checkout_stays_within_its_query_budget(
    buyer_client, two_shop_cart, django_assert_max_num_queries
):
    from payments.services.payouts import pay_sellers_for_checkout

    assert _checkout(buyer_client, "pm_card_visa").status_code == 201
    checkout = Checkout.objects.get()
    Shop.objects.update(payout_account_id="acct_test_ready")  # onboarded shops: no account made on the way
    # The orders, every order's sale and fee (one INSERT ... ON CONFLICT DO NOTHING), the nets of those not yet
    # transferred (one read), then every order's Transfer and every payout entry (one INSERT each, in the
    # handler's transaction: no savepoint of their own). 3 + 2 per order with an INSERT pair per order; 45 with
    # get_or_create and a read of the transfer and of the net per order.
    with django_assert_max_num_queries(3 + 2):
        assert pay_sellers_for_checkout(checkout_id=checkout.pk) == 2
    orders = Order.objects.filter(checkout=checkout)
    for order in orders:
        entries = {e.kind: e.amount for e in LedgerEntry.objects.filter(order=order)}
        assert entries == {"sale": order.total, "fee": -order.fees, "payout": -order.net}
    with django_assert_max_num_queries(3):  # again (a retried row): every order found transferred
        assert pay_sellers_for_checkout(checkout_id=checkout.pk) == 0
    assert LedgerEntry.objects.count() == 6 and Transfer.objects.count() == 2


def test_an_entry_whose_key_is_booked_is_not_appended_again(two_shop_cart, shop):
    from payments.services import ledger

    assert ledger.append(shop_id=shop.pk, order_id=None, kind="sale", amount=Decimal("5.00"), key="k:once")
    assert not ledger.append(shop_id=shop.pk, order_id=None, kind="sale", amount=Decimal("9.00"), key="k:once")
    assert LedgerEntry.objects.get(key="k:once").amount == Decimal("5.00")
    with pytest.raises(IntegrityError), transaction.atomic():  # the sign rule still holds (not a key conflict)
        ledger.append(shop_id=shop.pk, order_id=None, kind="fee", amount=Decimal("1.00"), key="k:bad")


def test_paying_sellers_whose_shops_get_a_test_account_reads_no_deferred_column(
    buyer_client, two_shop_cart, django_assert_num_queries
):
    """The payouts read of the orders loads only what paying needs (payments.selectors: the shop's payout
    account, its owner's email, the checkout's charge and currency); using another column would cost a query."""
    from payments.services.payouts import pay_sellers_for_checkout

    assert _checkout(buyer_client, "pm_card_visa").status_code == 201
    checkout = Checkout.objects.get()
    Shop.objects.update(payout_account_id="")  # not onboarded: a test account each, made from the owner's email
    # The orders, the sales, the nets; per shop its account written and read back; the Transfers, the payouts.
    with django_assert_num_queries(3 + 2 * 2 + 2):
        assert pay_sellers_for_checkout(checkout_id=checkout.pk) == 2
    assert all(shop.payout_account_id for shop in Shop.objects.all())
