"""A guest searches, buys from two shops after signing up, and a second buyer sees the piece as sold."""

import re

import pytest

from orders.models import Order
from tests.web.conftest import catalog  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_guest_to_two_orders_then_another_buyer_sees_it_sold(
    live_server,
    page,
    browser,
    shot,
    catalog,  # noqa: F811
    other_buyer,
    mailoutbox,
):
    base = live_server.url
    mug = catalog["products"][1]  # Clay Studio, unique
    bird = catalog["products"][25]  # Paper Birds

    page.goto(base + "/")
    shot(page, "01_home")
    page.get_by_label("Search for anything").fill("stoneware mug")
    page.get_by_label("Search for anything").press("Enter")
    page.wait_for_url(re.compile(r"/search/\?q="))
    assert "Results for" in page.locator("h1").inner_text()
    shot(page, "02_search")

    page.goto(base + mug.get_absolute_url())
    shot(page, "03_product")
    assert page.locator(".buy-box").get_by_text("Only 1 left").is_visible()
    page.get_by_role("button", name="Add to cart").click()  # htmx: the buy box and badge update in place
    page.get_by_text("Added to your cart.").wait_for()
    assert page.locator("#cart-count").inner_text() == "1"

    page.goto(base + "/c/art/")
    shot(page, "04_category")
    page.get_by_role("link", name=bird.title).first.click()
    page.get_by_role("button", name="Add to cart").click()
    page.get_by_text("Added to your cart.").wait_for()
    page.get_by_role("link", name="View cart").click()
    page.wait_for_url(re.compile(r"/cart/$"))
    assert page.locator(".cart-group").count() == 2
    shot(page, "05_cart_guest")

    page.get_by_role("link", name="Proceed to checkout").click()
    page.wait_for_url(re.compile(r"/accounts/login/"))
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Email address").fill("journey@example.com")
    page.get_by_label("Your name").fill("Jo Urney")
    page.get_by_label("Password").fill("a-Long-enough-pass-42")
    shot(page, "06_signup")
    page.get_by_role("button", name="Register").click()
    page.get_by_role("heading", name="Check your email").wait_for()
    # the link in the email confirms the account (its host is SITE_URL; the path is what counts)
    link = next(word for word in mailoutbox[-1].body.split() if "/accounts/signup/confirm/" in word)
    page.goto(base + "/" + link.split("://", 1)[1].split("/", 1)[1])
    page.get_by_role("button", name="Confirm and sign in").click()
    page.wait_for_url(re.compile(r"/orders/checkout/$"))

    page.goto(base + "/cart/")  # the guest cart moved into the account: the unique mug is now held
    held = page.locator(".cart-line", has_text=mug.title).locator("[data-countdown]")
    first = held.inner_text()
    assert re.fullmatch(r"1[45]:[0-5]\d", first), first
    page.wait_for_function("([el, first]) => el.textContent !== first", arg=[held.element_handle(), first])  # it ticks
    shot(page, "06b_cart_held")
    page.get_by_role("link", name="Proceed to checkout").click()
    page.wait_for_url(re.compile(r"/orders/checkout/$"))

    page.get_by_label("Street address").fill("1 Market Street")
    page.get_by_label("City").fill("Hudson")
    page.get_by_label("ZIP / postcode").fill("12534")
    page.get_by_label("Test Visa: payment succeeds").check()
    shot(page, "07_checkout")
    page.get_by_role("button", name=re.compile("Place order")).click()
    page.wait_for_url(re.compile(r"/orders/checkout/[0-9a-f-]+/$"))
    assert page.locator(".order-card").count() == 2
    shot(page, "08_confirmation")
    assert Order.objects.filter(buyer__email="journey@example.com").count() == 2

    page.goto(base + "/orders/")
    assert page.locator(".order-card").count() == 2
    shot(page, "09_orders")

    second = browser.new_context(viewport={"width": 1280, "height": 900})
    other = second.new_page()
    other.goto(base + "/accounts/login/")
    other.get_by_label("Email address").fill(other_buyer.email)
    other.get_by_label("Password").fill("correct-horse-battery")
    other.get_by_role("button", name="Sign in").click()
    other.goto(base + mug.get_absolute_url())
    assert other.locator(".buy-box").get_by_text("Sold out").is_visible()
    assert other.get_by_role("button", name="Add to cart").count() == 0
    assert "first from Clay Studio" in other.locator("#similar-title").inner_text()
    shot(other, "10_sold_for_second_buyer")
    other.goto(base + "/shops/clay-studio/")
    shot(other, "11_shop")
    second.close()


def test_layout_is_usable_on_a_phone_and_without_javascript(live_server, browser, shot, catalog):  # noqa: F811
    context = browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False)
    pg = context.new_page()
    pg.goto(live_server.url + "/c/home-living/")
    pg.get_by_label("Sort by").select_option("price_desc")
    pg.get_by_role("button", name="Sort").click()  # visible without JavaScript
    pg.wait_for_url(re.compile(r"sort=price_desc"))
    pg.goto(pg.url)
    pg.keyboard.press("Tab")
    assert pg.evaluate("document.activeElement.className") == "skip-link"
    shot(pg, "12_category_phone_nojs")
    context.close()
