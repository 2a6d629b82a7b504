"""A buyer asks a maker a question from a product page, the maker answers in the admin, the buyer sees the
badge and the reply, asks for a custom piece from a sold-out page, the maker answers with a listing reserved
for the buyer, and the buyer buys it."""

import re
from decimal import Decimal

import pytest

from catalog.models import Product
from messaging.models import Conversation
from orders.models import Order
from shops.services import open_shop
from tests.accounts.factories import UserFactory
from tests.catalog.factories import CategoryFactory, ProductFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"


def _sign_in_admin(page, base, email):
    page.goto(base + "/admin/")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/admin/$"))


def test_question_reply_badge_custom_request_reserved_listing_and_purchase(
    live_server, page, browser, shot, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    base = live_server.url
    category = CategoryFactory(name="Ceramics", slug="ceramics")
    maker = UserFactory(email="maker@example.com", display_name="Mia Maker")
    shop = open_shop(owner=maker, name="Kiln & Co")
    teapot = ProductFactory(shop=shop, category=category, title="Speckled teapot", quantity=3, price=Decimal("60.00"))
    vase = ProductFactory(shop=shop, category=category, title="Celadon vase", quantity=0, price=Decimal("45.00"))
    buyer = UserFactory(email="bea@example.com", display_name="Bea Buyer")

    # The buyer asks a question from the product page.
    page.goto(base + "/accounts/login/")
    page.get_by_label("Email address").fill(buyer.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(base + teapot.get_absolute_url())
    page.get_by_role("link", name="Message the seller").click()
    page.wait_for_url(re.compile(r"/messages/new/"))
    page.get_by_label("Message").fill("Does the lid <fit> snugly?")
    shot(page, "msg_01_question")
    page.get_by_role("button", name="Send message").click()
    page.wait_for_url(re.compile(r"/messages/\d+/$"))
    assert "Does the lid <fit> snugly?" in page.locator(".message-thread").inner_text()
    question = Conversation.objects.get(buyer=buyer)

    # The maker answers in the admin.
    seller_context = browser.new_context(viewport={"width": 1280, "height": 900})
    admin = seller_context.new_page()
    admin.set_default_timeout(15000)
    _sign_in_admin(admin, base, maker.email)
    admin.goto(base + "/admin/messaging/conversation/")
    admin.get_by_role("link", name="Speckled teapot").click()
    admin.wait_for_url(re.compile(r"/admin/messaging/conversation/\d+/change/$"))
    admin.wait_for_load_state("load")
    assert "Does the lid &lt;fit&gt; snugly?" in admin.content()
    admin.fill("#id_reply", "Yes, it sits snugly and has a small vent.")
    shot(admin, "msg_02_admin_reply")
    admin.click("input[name=_save]")
    admin.wait_for_url(re.compile(r"/admin/messaging/conversation/$"))

    # The buyer sees the badge and the reply.
    page.goto(base + "/")
    assert page.locator("#unread-count").inner_text() == "1"
    shot(page, "msg_03_badge")
    page.get_by_role("link", name=re.compile("Messages")).click()
    page.wait_for_url(re.compile(r"/messages/$"))
    page.get_by_role("link", name="Speckled teapot").click()
    assert "has a small vent" in page.locator(".message-thread").inner_text()
    page.goto(base + "/")
    assert page.locator("#unread-count").count() == 0

    # A custom piece, asked from a sold-out page.
    page.goto(base + vase.get_absolute_url())
    page.get_by_role("link", name="Request a custom piece").click()
    page.get_by_label("What would you like made?").fill("A celadon vase like this one, but taller (30 cm).")
    page.get_by_label("Your budget").fill("$70")
    page.get_by_label("Needed by").fill("before 1 June")
    shot(page, "msg_04_custom_request")
    page.get_by_role("button", name="Send request").click()
    page.wait_for_url(re.compile(r"/messages/\d+/$"))
    request = Conversation.objects.exclude(pk=question.pk).get(buyer=buyer)
    assert request.kind == Conversation.Kind.CUSTOM_REQUEST

    # The maker answers with a listing reserved for the buyer.
    admin.goto(base + f"/admin/messaging/conversation/{request.pk}/change/")
    admin.wait_for_load_state("load")
    assert "before 1 June" in admin.content()
    admin.fill("#id_offer_title", "Tall celadon vase for Bea")
    admin.fill("#id_offer_price", "68.00")
    admin.click("input[name=_save]")
    admin.wait_for_url(re.compile(r"/admin/messaging/conversation/$"))
    reserved = Product.objects.get(reserved_for=buyer)
    seller_context.close()

    # Nobody else sees it; the buyer adds it to the cart from the thread and buys it.
    assert page.request.get(base + reserved.get_absolute_url()).status == 404
    page.goto(base + f"/messages/{request.pk}/")
    card = page.locator(".reserved-listing-card")
    assert "Tall celadon vase for Bea" in card.inner_text()
    shot(page, "msg_05_reserved_listing")
    card.get_by_role("button", name="Add to cart").click()
    page.wait_for_url(re.compile(r"/cart/$"))
    assert "Tall celadon vase for Bea" in page.content()
    page.get_by_role("link", name="Proceed to checkout").click()
    page.wait_for_url(re.compile(r"/orders/checkout/$"))
    page.get_by_label("Street address").fill("1 Market Street")
    page.get_by_label("City").fill("Hudson")
    page.get_by_label("ZIP / postcode").fill("12534")
    page.get_by_label("Test Visa: payment succeeds").check()
    page.get_by_role("button", name=re.compile("Place order")).click()
    page.wait_for_url(re.compile(r"/orders/checkout/[0-9a-f-]+/$"))
    shot(page, "msg_06_bought")
    order = Order.objects.get(buyer=buyer)
    assert [item.product_id for item in order.items.all()] == [reserved.pk]
