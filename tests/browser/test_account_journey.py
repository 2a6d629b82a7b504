"""A buyer keeps an address book and a profile: adds an address, makes it the default, sees it picked at
checkout, changes the display name and the password (and signs in again with the new one)."""

import re

import pytest

from accounts.models import Address
from accounts.services import addresses as address_services
from tests.accounts.factories import UserFactory
from tests.web.conftest import catalog  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"  # the factories' password
NEW_PASSWORD = "a-much-better-passphrase-7"


def test_address_book_default_at_checkout_then_name_and_password(live_server, page, shot, catalog):  # noqa: F811
    base = live_server.url
    buyer = UserFactory(email="book@example.com", display_name="Bea Book")
    address_services.create_address(
        owner=buyer, name="Bea Book", line1="1 Old Road", city="Albany", postal_code="12207", country="US"
    )

    page.goto(base + "/accounts/login/")
    page.get_by_label("Email address").fill(buyer.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("Sign in|Log in", re.I)).click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)

    page.get_by_role("link", name="Account", exact=True).click()
    page.wait_for_url(re.compile(r"/account/$"))
    page.get_by_role("link", name="Addresses", exact=True).click()
    page.get_by_role("link", name="Add an address").click()
    page.get_by_label("Full name").fill("Bea at the cabin")
    page.get_by_label("Street address").fill("7 Lake Road")
    page.get_by_label("City").fill("Lake Placid")
    page.get_by_label("State, province or region").fill("NY")
    page.get_by_label("ZIP / postal code").fill("12946")
    page.get_by_label("Country code").fill("us")
    shot(page, "account_01_add_address")
    page.get_by_role("button", name="Save address").click()
    page.get_by_text("The address is in your address book.").wait_for()
    cabin = Address.objects.get(owner=buyer, line1="7 Lake Road")
    assert not cabin.is_default

    page.get_by_role("button", name=re.compile(r"Make default.*7 Lake Road")).click()
    page.get_by_text("This is now your default shipping address.").wait_for()
    assert page.locator(".address-card").first.get_by_text("Default").is_visible()
    shot(page, "account_02_default")

    page.goto(base + catalog["products"][0].get_absolute_url())
    page.get_by_role("button", name="Add to cart").click()
    page.get_by_text("Added to your cart.").wait_for()
    page.goto(base + "/orders/checkout/")
    picked = page.get_by_label("Bea at the cabin, 7 Lake Road, 12946 Lake Placid, NY, US")
    assert picked.is_checked()
    assert not page.get_by_label(re.compile("1 Old Road")).is_checked()
    shot(page, "account_03_checkout_prefilled")

    page.goto(base + "/account/")
    page.get_by_role("textbox", name=re.compile("Display name")).fill("Beatrice B.")
    page.get_by_role("button", name="Save name").click()
    page.get_by_text("Your display name is saved.").wait_for()
    assert page.get_by_role("textbox", name=re.compile("Display name")).input_value() == "Beatrice B."

    form = page.locator("form[action='/account/password/']")
    form.get_by_label("Current password").fill(PASSWORD)
    form.locator("#id_password-new_password").fill(NEW_PASSWORD)
    form.get_by_label("New password, again").fill(NEW_PASSWORD)
    form.get_by_role("button", name="Change password").click()
    page.get_by_text("Your password is changed.").wait_for()
    shot(page, "account_04_password_changed")
    assert page.url.endswith("/account/")  # still signed in here

    page.get_by_role("button", name="Sign out").click()
    page.goto(base + "/accounts/login/")
    page.get_by_label("Email address").fill(buyer.email)
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name=re.compile("Sign in|Log in", re.I)).click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    buyer.refresh_from_db()
    assert buyer.display_name == "Beatrice B." and buyer.check_password(NEW_PASSWORD)
