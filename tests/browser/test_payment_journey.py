"""Payments in a real browser: the test provider's methods as a plain choice, 3-D Secure's extra step, and
the seller's Payments page after the sale."""

import re

import pytest

from orders.models import Checkout, Order
from shops.services import get_sellers_group
from tests.web.conftest import catalog  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_buyer_pays_with_3d_secure_and_the_seller_sees_the_sale_and_fees(
    live_server,
    page,
    shot,
    catalog,  # noqa: F811
    buyer,
):
    from etsy.outbox import services as outbox_services

    base = live_server.url
    mug = catalog["products"][1]
    page.goto(base + "/accounts/login/")
    page.get_by_label("Email address").fill(buyer.email)
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name=re.compile("Log in|Sign in")).click()
    page.goto(base + mug.get_absolute_url())
    page.get_by_role("button", name="Add to cart").click()
    page.get_by_text("Added to your cart.").wait_for()
    page.goto(base + "/orders/checkout/")
    page.get_by_label("Street address").fill("1 Market Street")
    page.get_by_label("City").fill("Hudson")
    page.get_by_label("ZIP / postcode").fill("12534")
    assert page.get_by_label("Test Visa: payment succeeds").is_checked()
    assert page.locator("input[autocomplete=cc-number]").count() == 0  # no card field anywhere
    page.get_by_label("Test card that asks for 3-D Secure authentication").check()
    shot(page, "pay_01_checkout_payment_choice")
    page.get_by_role("button", name=re.compile("Place order")).click()
    page.wait_for_url(re.compile(r"/orders/checkout/[0-9a-f-]+/authenticate/$"))
    shot(page, "pay_02_complete_authentication")
    assert Checkout.objects.get().payment_status == "requires_action"
    page.get_by_role("button", name="Confirm the test payment").click()
    page.wait_for_url(re.compile(r"/orders/checkout/[0-9a-f-]+/$"))
    shot(page, "pay_03_confirmation")
    order = Order.objects.get(buyer=buyer)
    assert order.status == "paid"

    outbox_services.relay_pending()  # the sellers' transfer (eager Celery in tests)
    from tests.payments.conftest import run_outbox

    run_outbox("checkout.paid")
    seller = order.shop.owner
    seller.is_staff = True
    seller.set_password("seller-pass-42")
    seller.save()
    seller.groups.add(get_sellers_group())
    page.context.clear_cookies()
    page.goto(base + "/admin/login/")
    page.get_by_label(re.compile("Email|Username")).fill(seller.email)
    page.get_by_label("Password").fill("seller-pass-42")
    page.get_by_role("button", name=re.compile("Log in")).click()
    page.goto(base + "/admin/payments/ledgerentry/")
    assert page.get_by_text("Balance held for you").is_visible()
    assert page.get_by_role("link", name=f"#{order.pk}").is_visible()
    shot(page, "pay_04_seller_payments_page")
