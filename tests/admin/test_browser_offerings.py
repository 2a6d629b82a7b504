"""A seller, in a real browser, gives a listing sizes and fills in its grid through the admin (no JavaScript needed)."""

import re
from decimal import Decimal

import pytest

from catalog.models import Offering
from shops.services import open_shop
from tests.accounts.factories import UserFactory
from tests.admin.conftest import PASSWORD
from tests.catalog.factories import CategoryFactory, ProductFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("javascript", [True, False])
def test_seller_adds_sizes_and_prices_each_in_the_offerings_editor(live_server, chromium, javascript):
    seller = UserFactory(email="ringmaker@example.com")
    shop = open_shop(owner=seller, name="Ring Forge")
    ring = ProductFactory(shop=shop, category=CategoryFactory(), title="Stacking ring", price=Decimal("40.00"))

    context = chromium.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=javascript)
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        page.goto(live_server.url + "/admin/login/")
        page.fill("#id_username", seller.email)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(re.compile(r"/admin/$"))

        page.goto(live_server.url + f"/admin/catalog/product/{ring.pk}/change/")
        page.get_by_role("link", name="Edit variations & offerings").click()
        page.wait_for_url(re.compile(rf"/admin/catalog/product/{ring.pk}/offerings/$"))
        page.get_by_label("Property 1 name").fill("Size")
        page.get_by_label("Property 1 options").fill("6\n7\n8")
        page.get_by_role("button", name="Save properties").click()
        page.wait_for_load_state("load")
        assert "fill in the grid" in page.content()

        for size, price, quantity in (("6", "40.00", "2"), ("7", "42.00", "0"), ("8", "45.00", "1")):
            page.get_by_label(f"Price, Size: {size}", exact=True).fill(price)
            page.get_by_label(f"Quantity, Size: {size}", exact=True).fill(quantity)
            page.get_by_label(f"SKU, Size: {size}", exact=True).fill(f"RING-{size}")
        page.get_by_label("On sale, Size: 8", exact=True).uncheck()
        page.get_by_role("button", name="Save offerings").click()
        page.wait_for_load_state("load")
        assert "Offerings saved." in page.content()
    finally:
        context.close()

    grid = list(
        Offering.objects.filter(product=ring)
        .order_by("option1__position")
        .values_list("option1__value", "price", "quantity", "sku", "is_enabled")
    )
    assert grid == [
        ("6", Decimal("40.00"), 2, "RING-6", True),
        ("7", Decimal("42.00"), 0, "RING-7", True),
        ("8", Decimal("45.00"), 1, "RING-8", False),
    ]
    ring.refresh_from_db()
    assert (ring.price, ring.quantity) == (Decimal("40.00"), 2)
