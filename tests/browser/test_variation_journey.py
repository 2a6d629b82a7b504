"""Issue 22's acceptance in Chromium: a buyer buys a ring in a chosen size and metal with engraved initials from
one shop and a plain listing from another in one checkout, with JavaScript switched off (the selects and a form
post); a refused combination and missing initials are said beside their fields; then the options and the
initials show in the cart, on the order page and in the seller's email. With JavaScript, choosing options
updates the price and stock line in place, and axe-core finds nothing critical or serious on the page."""

import re

import pytest

from orders.models import Order, OrderItem
from tests.browser.test_accessibility import AXE, BLOCKING, PASSWORD, RUN_AXE
from tests.catalog.factories import make_ring, ring_offerings
from tests.web.conftest import catalog  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def ring(catalog):  # noqa: F811
    return make_ring(shop=catalog["shop_a"], category=catalog["mugs"])


def _sign_in(tab, base: str, email: str) -> None:
    tab.goto(base + "/accounts/login/")
    tab.get_by_label("Email address").fill(email)
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name=re.compile("Sign in|Log in", re.I)).click()
    tab.wait_for_url(lambda url: "/accounts/login/" not in url)


def test_a_ring_with_initials_and_a_plain_print_from_two_shops_in_one_checkout_without_javascript(
    live_server,
    browser,
    shot,
    catalog,  # noqa: F811
    ring,
    buyer,
    mailoutbox,
):
    base = live_server.url
    bird = catalog["products"][25]  # Paper Birds, a plain listing
    context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    tab = context.new_page()
    tab.set_default_timeout(15000)
    _sign_in(tab, base, buyer.email)

    tab.goto(base + ring.get_absolute_url())
    assert tab.locator("#product-price").inner_text() == "from $30.00"
    box = tab.locator("#buy-box")
    assert box.get_by_text("Initials to engrave inside the band").is_visible()
    shot(tab, "v01_ring_nojs")

    # A sold-out combination: refused beside the selects, the choice and the initials kept.
    box.get_by_label("Size").select_option(label="8")
    box.get_by_label("Metal").select_option(label="Gold")
    box.get_by_label("Personalization").fill("JM")
    box.get_by_role("button", name="Add to cart").click()
    tab.wait_for_load_state("load")
    box = tab.locator("#buy-box")
    assert "sold out" in box.locator("#choice-error").inner_text()
    assert box.get_by_label("Size").input_value() == str(ring_offerings(ring)[("8", "Gold")].option1_id)
    assert box.get_by_label("Personalization").input_value() == "JM"
    shot(tab, "v02_refused_combination")

    # Initials left blank (spaces pass the browser's own check): refused beside the text box.
    box.get_by_label("Size").select_option(label="7")
    box.get_by_label("Personalization").fill("   ")
    box.get_by_role("button", name="Add to cart").click()
    tab.wait_for_load_state("load")
    box = tab.locator("#buy-box")
    assert box.locator("#personalization-error").is_visible()
    assert box.get_by_label("Metal").input_value() == str(ring_offerings(ring)[("7", "Gold")].option2_id)
    shot(tab, "v03_initials_missing")

    box.get_by_label("Personalization").fill("JM")
    box.get_by_role("button", name="Add to cart").click()
    tab.wait_for_url(re.compile(r"/cart/$"))

    tab.goto(base + bird.get_absolute_url())
    tab.get_by_role("button", name="Add to cart").click()
    tab.wait_for_url(re.compile(r"/cart/$"))
    assert tab.locator(".cart-group").count() == 2
    ring_line = tab.locator(".cart-line", has_text=ring.title)
    assert "Size: 7, Metal: Gold" in ring_line.inner_text() and "JM" in ring_line.inner_text()
    assert "$45.00" in ring_line.inner_text()
    shot(tab, "v04_cart")

    tab.get_by_role("link", name="Proceed to checkout").click()
    tab.wait_for_url(re.compile(r"/orders/checkout/$"))
    tab.get_by_label("Street address").fill("1 Market Street")
    tab.get_by_label("City").fill("Hudson")
    tab.get_by_label("ZIP / postcode").fill("12534")
    tab.get_by_label("Test Visa: payment succeeds").check()
    tab.get_by_role("button", name=re.compile("Place order")).click()
    tab.wait_for_url(re.compile(r"/orders/checkout/[0-9a-f-]+/$"))
    assert tab.locator(".order-card").count() == 2
    assert "Size: 7, Metal: Gold" in tab.content() and "JM" in tab.content()
    shot(tab, "v05_confirmation")

    item = OrderItem.objects.select_related("order").get(product=ring)
    assert (item.options_at_purchase, item.personalization) == ("Size: 7, Metal: Gold", "JM")
    assert Order.objects.filter(buyer=buyer).count() == 2
    tab.goto(base + item.order.get_absolute_url())
    items = tab.locator("table.items").inner_text()
    assert "Size: 7, Metal: Gold" in items and "JM" in items
    shot(tab, "v06_order_page")
    tab.goto(base + "/orders/")
    assert "Size: 7, Metal: Gold" in tab.locator(".order-list").inner_text()
    context.close()

    seller_mail = next(m for m in mailoutbox if ring.shop.owner.email in m.to)
    assert "Size: 7, Metal: Gold" in seller_mail.body and "JM" in seller_mail.body  # the seller's copy of the lines
    buyer_mail = next(m for m in mailoutbox if buyer.email in m.to and "Stacking ring" in m.body)
    assert "Size: 7, Metal: Gold" in buyer_mail.body and "JM" in buyer_mail.body


def test_with_javascript_choosing_options_updates_price_and_stock_and_axe_finds_nothing_blocking(
    live_server,
    page,
    ring,
):
    if not AXE.exists():
        pytest.skip("axe-core is not installed: run `npm ci`")
    base = live_server.url
    page.goto(base + ring.get_absolute_url())
    box = page.locator("#buy-box")
    box.get_by_label("Size").select_option(label="7")
    box.get_by_label("Metal").select_option(label="Gold")  # htmx: the line and the page's price swap in place
    page.locator("#choice-status", has_text="In stock").wait_for()
    page.locator("#product-price", has_text="$45.00").wait_for()
    assert page.locator("#product-price").inner_text() == "$45.00"
    box.get_by_label("Size").select_option(label="8")
    page.locator("#choice-error", has_text="sold out").wait_for()
    page.locator("#product-price", has_text="from $30.00").wait_for()

    page.add_script_tag(path=str(AXE))
    violations = [v for v in page.evaluate(RUN_AXE) if v["impact"] in BLOCKING]
    assert violations == [], violations
    page.goto(base + ring.get_absolute_url())
    page.add_script_tag(path=str(AXE))
    violations = [v for v in page.evaluate(RUN_AXE) if v["impact"] in BLOCKING]
    assert violations == [], violations

    box = page.locator("#buy-box")  # refused in place (htmx), then added: the cart names the line
    box.get_by_label("Size").select_option(label="7")
    box.get_by_label("Metal").select_option(label="Silver")
    box.get_by_label("Personalization").fill("   ")
    box.get_by_role("button", name="Add to cart").click()
    page.locator("#personalization-error").wait_for()
    page.add_script_tag(path=str(AXE))
    violations = [v for v in page.evaluate(RUN_AXE) if v["impact"] in BLOCKING]
    assert violations == [], violations
    page.locator("#buy-box").get_by_label("Personalization").fill("AB")
    page.locator("#buy-box").get_by_role("button", name="Add to cart").click()
    page.get_by_text("Added to your cart.").wait_for()
    page.goto(base + "/cart/")
    assert "Size: 7, Metal: Silver" in page.locator(".cart-line").inner_text()
    page.add_script_tag(path=str(AXE))
    violations = [v for v in page.evaluate(RUN_AXE) if v["impact"] in BLOCKING]
    assert violations == [], violations


def test_a_size_the_seller_removes_in_the_admin_leaves_the_cart_with_a_notice(
    live_server,
    browser,
    catalog,  # noqa: F811
    ring,
    buyer,
):
    if not AXE.exists():
        pytest.skip("axe-core is not installed: run `npm ci`")
    from shops.services import get_sellers_group

    base = live_server.url
    seller = ring.shop.owner
    seller.is_staff = True
    seller.save(update_fields=["is_staff"])
    seller.groups.add(get_sellers_group())

    shopper = browser.new_context(java_script_enabled=False).new_page()
    _sign_in(shopper, base, buyer.email)
    shopper.goto(base + ring.get_absolute_url())
    box = shopper.locator("#buy-box")
    box.get_by_label("Size").select_option(label="8")
    box.get_by_label("Metal").select_option(label="Silver")
    box.get_by_label("Personalization").fill("JM")
    box.get_by_role("button", name="Add to cart").click()
    shopper.get_by_text("Added to your cart.").wait_for()

    # The seller stops making size 8: Variations & offerings, in the admin, the options of property 1.
    admin = browser.new_context().new_page()
    admin.goto(base + "/admin/login/")
    admin.fill("#id_username", seller.email)
    admin.fill("#id_password", PASSWORD)
    admin.click("input[type=submit]")
    admin.wait_for_url(re.compile(r"/admin/$"))
    admin.goto(f"{base}/admin/catalog/product/{ring.pk}/offerings/")
    admin.get_by_label("Property 1 options").fill("6\n7")
    admin.get_by_role("button", name="Save properties").click()
    admin.get_by_text("Variations saved.").wait_for()

    shopper = browser.new_context().new_page()  # the buyer again, on another device with JavaScript (for axe)
    _sign_in(shopper, base, buyer.email)
    shopper.goto(base + "/cart/")
    notice = shopper.locator(".notice", has_text="no longer offers the option you chose")
    assert "Stacking ring" in notice.inner_text()
    assert notice.get_by_role("link", name=re.compile("Choose another option")).get_attribute("href") == (
        ring.get_absolute_url()
    )
    assert "Your cart is empty." in shopper.content()
    shopper.add_script_tag(path=str(AXE))
    violations = [v for v in shopper.evaluate(RUN_AXE) if v["impact"] in BLOCKING]
    assert violations == [], violations
    shopper.goto(base + "/cart/")
    assert "no longer offers" not in shopper.content()  # told once
