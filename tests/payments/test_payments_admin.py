"""The seller's Payments page in the admin: figures, each order's net, CSV, scoped to the seller's shop."""

import pytest

from orders.models import Order
from shops.services import get_sellers_group
from tests.payments.conftest import ADDRESS, run_outbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid_two_shops(buyer_client, two_shop_cart):
    response = buyer_client.post(
        "/api/v1/checkout",
        {"address": ADDRESS, "payment_method": "pm_card_visa"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="adm-1",
    )
    assert response.status_code == 201
    run_outbox("checkout.paid")
    return two_shop_cart


def _seller_admin(client, seller):
    seller.is_staff = True
    seller.save(update_fields=["is_staff"])
    seller.groups.add(get_sellers_group())
    client.force_login(seller)
    return client


def test_payments_page_shows_the_sellers_figures_and_only_their_orders(client, seller, shop, paid_two_shops):
    page = _seller_admin(client, seller).get("/admin/payments/ledgerentry/")
    assert page.status_code == 200
    html = page.content.decode()
    mine = Order.objects.get(shop=shop)
    other = Order.objects.exclude(shop=shop).get()
    assert "your money" in html and "Balance held for you" in html
    assert f"#{mine.pk}</a>" in html and f"#{other.pk}</a>" not in html
    assert f"<td>{mine.transaction_fee}</td>" in html and f"<td>{mine.net}</td>" in html


def test_csv_export_has_only_the_sellers_entries(client, seller, shop, paid_two_shops):
    response = _seller_admin(client, seller).get("/admin/payments/ledgerentry/export.csv")
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    lines = response.content.decode().strip().splitlines()
    assert lines[0] == "created_at,shop_id,kind,amount,order_id,reference"
    mine = Order.objects.get(shop=shop)
    assert len(lines) == 4 and all(f",{shop.pk}," in line for line in lines[1:])
    assert {line.split(",")[2] for line in lines[1:]} == {"sale", "fee", "payout"}
    assert all(f",{mine.pk}," in line for line in lines[1:])


def test_shop_admin_links_the_payout_account(client, seller, shop, paid_two_shops):
    shop.refresh_from_db()
    html = _seller_admin(client, seller).get(f"/admin/shops/shop/{shop.pk}/change/").content.decode()
    assert shop.payout_account_id in html and "/admin/payments/ledgerentry/" in html


def test_onboarding_sends_the_seller_to_the_providers_account_link(client, seller, shop):
    response = _seller_admin(client, seller).get("/admin/payments/ledgerentry/onboarding/")
    assert response.status_code == 302, response.content
    shop.refresh_from_db()
    assert shop.payout_account_id.startswith("acct_") and shop.payout_account_id in response["Location"]


def test_seller_refunds_part_of_an_order_from_its_admin_page(client, seller, shop, paid_two_shops):
    from payments.models import LedgerEntry

    mine = Order.objects.get(shop=shop)
    admin = _seller_admin(client, seller)
    assert "Refund</a>" in admin.get(f"/admin/orders/order/{mine.pk}/change/").content.decode()
    page = admin.get(f"/admin/payments/ledgerentry/refund/{mine.pk}/")
    assert page.status_code == 200 and "refundable now" in page.content.decode()
    too_much = admin.post(f"/admin/payments/ledgerentry/refund/{mine.pk}/", {"amount": "99.00"})
    assert too_much.status_code == 200 and not LedgerEntry.objects.filter(kind="refund").exists()
    done = admin.post(f"/admin/payments/ledgerentry/refund/{mine.pk}/", {"amount": "3.00"})
    assert done.status_code == 302
    assert LedgerEntry.objects.get(order=mine, kind="refund").amount == -3
    other = Order.objects.exclude(shop=shop).get()
    assert admin.post(f"/admin/payments/ledgerentry/refund/{other.pk}/", {"amount": "1.00"}).status_code == 404
