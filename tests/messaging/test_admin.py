"""Conversations in the seller's admin: scoped to the shop, reply, reserved listing, read, archive, block;
the staff's report queue for superusers only."""

from decimal import Decimal

import pytest
from django.test import Client

from accounts.models import User
from messaging import services
from messaging.models import Block, Conversation, Message, Report
from shops.services import open_shop
from tests.accounts.factories import UserFactory
from tests.catalog.factories import CategoryFactory, ProductFactory
from tests.messaging.factories import png_upload

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


class Seller:
    def __init__(self, email: str, name: str, category):
        self.user = UserFactory(email=email)
        self.shop = open_shop(owner=self.user, name=name)
        self.client = Client()
        assert self.client.login(email=email, password=PASSWORD)
        self.product = ProductFactory(shop=self.shop, category=category)


@pytest.fixture
def kitchen(db):
    return CategoryFactory(name="Kitchen", slug="kitchen")


@pytest.fixture
def alice(kitchen):
    return Seller("alice@example.com", "Alice Ceramics", kitchen)


@pytest.fixture
def bob(kitchen):
    return Seller("bob@example.com", "Bob Woodworks", kitchen)


@pytest.fixture
def alice_thread(buyer, alice):
    return services.start_conversation(
        buyer=buyer, shop_id=alice.shop.pk, body="Is it <i>food</i> safe?", product_id=alice.product.pk
    )


@pytest.fixture
def bob_thread(buyer, bob):
    return services.start_conversation(buyer=buyer, shop_id=bob.shop.pk, body="For Bob only")


def _change_url(conversation) -> str:
    return f"/admin/messaging/conversation/{conversation.pk}/change/"


def test_a_seller_lists_only_their_shops_conversations(alice, alice_thread, bob_thread):
    page = alice.client.get("/admin/messaging/conversation/").content.decode()
    assert alice_thread.subject in page and bob_thread.subject not in page


def test_another_shops_conversation_is_out_of_reach_and_unchanged(alice, bob_thread):
    before = list(Conversation.objects.filter(pk=bob_thread.pk).values())
    response = alice.client.get(_change_url(bob_thread))
    assert response.status_code in (302, 404) and "/admin/" in response.get("Location", "/admin/")
    response = alice.client.post(_change_url(bob_thread), {"reply": "hijack"})
    assert response.status_code in (302, 403, 404)
    assert list(Conversation.objects.filter(pk=bob_thread.pk).values()) == before
    assert bob_thread.messages.count() == 1


def test_opening_the_thread_marks_it_read_and_shows_text_escaped(alice, alice_thread):
    page = alice.client.get(_change_url(alice_thread)).content.decode()
    assert "Is it &lt;i&gt;food&lt;/i&gt; safe?" in page and "<i>food</i>" not in page
    alice_thread.refresh_from_db()
    assert not alice_thread.is_unread_by_seller


def test_the_seller_replies_with_a_picture_from_the_admin(alice, alice_thread, buyer):
    response = alice.client.post(
        _change_url(alice_thread), {"reply": "Yes, lead-free glaze.", "reply_images": [png_upload()]}
    )
    assert response.status_code == 302
    reply = alice_thread.messages.get(side="seller")
    assert reply.body == "Yes, lead-free glaze." and reply.sender == alice.user and reply.images.count() == 1
    alice_thread.refresh_from_db()
    assert alice_thread.is_unread_by_buyer


def test_the_seller_answers_with_a_reserved_listing(alice, alice_thread, buyer):
    response = alice.client.post(
        _change_url(alice_thread), {"offer_title": "Green teapot for Bea", "offer_price": "78.00"}
    )
    assert response.status_code == 302
    offer = alice_thread.messages.get(kind=Message.Kind.RESERVED_LISTING)
    assert offer.product.reserved_for == buyer and offer.product.price == Decimal("78.00")
    assert offer.product.category == alice.product.category


def test_an_offer_without_a_price_is_a_form_error(alice, alice_thread):
    response = alice.client.post(_change_url(alice_thread), {"offer_title": "Teapot"})
    assert response.status_code == 200 and "Give the reserved listing a price." in response.content.decode()
    assert alice_thread.messages.count() == 1


def test_actions_mark_read_archive_and_block(alice, alice_thread, buyer):
    url = "/admin/messaging/conversation/"
    alice.client.post(url, {"action": "mark_read", "_selected_action": [alice_thread.pk]})
    alice.client.post(url, {"action": "archive", "_selected_action": [alice_thread.pk]})
    alice_thread.refresh_from_db()
    assert not alice_thread.is_unread_by_seller and alice_thread.is_archived_by_seller
    alice.client.post(url, {"action": "block_buyer", "_selected_action": [alice_thread.pk]})
    assert Block.objects.filter(shop=alice.shop, buyer=buyer, blocked_by="seller").exists()


def test_a_new_buyer_message_brings_an_archived_thread_back(alice, alice_thread, buyer):
    services.set_archived(seller=alice.user, conversation_id=alice_thread.pk, archived=True)
    services.send_message(user=buyer, conversation_id=alice_thread.pk, body="Any news?")
    alice_thread.refresh_from_db()
    assert not alice_thread.is_archived_by_seller


def test_the_order_admin_links_to_the_orders_threads(alice, buyer):
    from tests.orders.factories import OrderFactory

    order = OrderFactory(buyer=buyer, shop=alice.shop)
    services.start_conversation(buyer=buyer, shop_id=alice.shop.pk, body="Where is it?", order_id=order.pk)
    page = alice.client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    link = f"/admin/messaging/conversation/?order__id__exact={order.pk}"
    assert link in page.replace("&amp;", "&")
    listing = alice.client.get(link).content.decode()
    assert f"Order #{order.pk}" in listing


def test_the_report_queue_is_for_superusers_only(alice, alice_thread, buyer, seller):
    rude = services.send_message(user=alice.user, conversation_id=alice_thread.pk, body="Rude words")
    report = services.report_message(user=buyer, message_id=rude.pk, reason="rude")
    assert alice.client.get("/admin/messaging/report/").status_code == 403
    User.objects.create_superuser(email="root@example.com", password=PASSWORD)
    root = Client()
    assert root.login(email="root@example.com", password=PASSWORD)
    assert "Rude words" in root.get("/admin/messaging/report/").content.decode()
    root.post("/admin/messaging/report/", {"action": "resolve", "_selected_action": [report.pk]})
    report.refresh_from_db()
    assert report.resolved_at is not None
    # Superusers see every shop's threads without marking them read for the shop.
    assert root.get(_change_url(alice_thread)).status_code == 200
    alice_thread.refresh_from_db()
    assert Report.objects.count() == 1


def test_unread_threads_come_first_and_can_be_filtered(alice, buyer, other_buyer, alice_thread):
    read_one = services.start_conversation(buyer=other_buyer, shop_id=alice.shop.pk, body="Later but read")
    services.mark_read(user=alice.user, conversation_id=read_one.pk)
    services.send_message(user=alice.user, conversation_id=read_one.pk, body="Answered")
    page = alice.client.get("/admin/messaging/conversation/").content.decode()
    assert page.index(alice_thread.subject) < page.index(read_one.subject)
    unread_only = alice.client.get("/admin/messaging/conversation/?unread=1").content.decode()
    assert alice_thread.subject in unread_only and read_one.subject not in unread_only
