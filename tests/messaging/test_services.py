"""Conversation services: who may write to whom, what a message may hold, read state, limits, blocks, reports."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from etsy.outbox.models import OutboxMessage
from messaging import selectors, services
from messaging.exceptions import Blocked, CannotMessage, ConversationNotFound, InvalidMessage, RateLimited
from messaging.models import Conversation, Message, MessageImage, Report, Side
from tests.accounts.factories import UserFactory
from tests.catalog.factories import ProductFactory
from tests.messaging.factories import fake_png_upload, png_upload
from tests.orders.factories import OrderFactory
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def old_buyer(buyer):
    """A buyer whose account is older than a day (the normal limits)."""
    type(buyer).objects.filter(pk=buyer.pk).update(created_at=timezone.now() - timedelta(days=30))
    buyer.refresh_from_db()
    return buyer


def test_start_conversation_about_a_listing_creates_a_thread_and_a_message(buyer, shop, product):
    conversation = services.start_conversation(
        buyer=buyer, shop_id=shop.pk, body="  Is the glaze food safe?  ", product_id=product.pk
    )
    assert conversation.buyer == buyer and conversation.shop == shop and conversation.product == product
    (message,) = conversation.messages.all()
    assert message.body == "Is the glaze food safe?" and message.side == Side.BUYER and message.sender == buyer
    assert conversation.subject == product.title
    assert conversation.is_unread_by_seller and not conversation.is_unread_by_buyer


def test_asking_again_about_the_same_listing_reuses_the_thread(buyer, shop, product):
    first = services.start_conversation(buyer=buyer, shop_id=shop.pk, body="One", product_id=product.pk)
    second = services.start_conversation(buyer=buyer, shop_id=shop.pk, body="Two", product_id=product.pk)
    assert first.pk == second.pk and second.messages.count() == 2


def test_start_conversation_about_an_order_needs_the_buyers_order_from_that_shop(buyer, other_buyer, shop):
    order = OrderFactory(buyer=buyer, shop=shop)
    conversation = services.start_conversation(buyer=buyer, shop_id=shop.pk, body="Where is it?", order_id=order.pk)
    assert conversation.order == order and conversation.subject == f"Order #{order.pk}"
    with pytest.raises(CannotMessage):
        services.start_conversation(buyer=other_buyer, shop_id=shop.pk, body="Mine?", order_id=order.pk)
    with pytest.raises(CannotMessage):
        services.start_conversation(buyer=buyer, shop_id=ShopFactory().pk, body="Wrong shop", order_id=order.pk)


def test_cannot_message_own_shop_a_closed_shop_or_another_shops_listing(buyer, seller, shop, product):
    with pytest.raises(CannotMessage):
        services.start_conversation(buyer=seller, shop_id=shop.pk, body="Hello me")
    closed = ShopFactory(is_active=False)
    with pytest.raises(CannotMessage):
        services.start_conversation(buyer=buyer, shop_id=closed.pk, body="Hello?")
    other_listing = ProductFactory()
    with pytest.raises(CannotMessage):
        services.start_conversation(buyer=buyer, shop_id=shop.pk, body="This?", product_id=other_listing.pk)
    assert Conversation.objects.count() == 0


@pytest.mark.parametrize("body", ["", "   \n  ", "x" * 2001])
def test_empty_or_over_long_messages_are_refused_with_a_field_error(buyer, shop, body):
    with pytest.raises(InvalidMessage) as caught:
        services.start_conversation(buyer=buyer, shop_id=shop.pk, body=body)
    assert "body" in caught.value.extra["fields"]
    assert Conversation.objects.count() == 0 and Message.objects.count() == 0


def test_a_message_keeps_up_to_three_reencoded_pictures(buyer, shop):
    conversation = services.start_conversation(
        buyer=buyer, shop_id=shop.pk, body="Like this", uploads=[png_upload(), png_upload(), png_upload()]
    )
    pictures = list(MessageImage.objects.filter(message__conversation=conversation))
    assert len(pictures) == 3
    assert all(p.image.name.startswith("messages/") and not p.image.name.endswith("photo.png") for p in pictures)
    assert all(p.width == 64 and p.height == 48 for p in pictures)


def test_four_pictures_or_a_fake_picture_store_nothing(buyer, shop):
    with pytest.raises(InvalidMessage) as caught:
        services.start_conversation(buyer=buyer, shop_id=shop.pk, body="Many", uploads=[png_upload()] * 4)
    assert "images" in caught.value.extra["fields"]
    with pytest.raises(InvalidMessage):
        services.start_conversation(
            buyer=buyer, shop_id=shop.pk, body="Evil", uploads=[png_upload(), fake_png_upload()]
        )
    assert Message.objects.count() == 0 and MessageImage.objects.count() == 0


def test_reply_marks_unread_for_the_other_side_and_read_for_the_sender(buyer, seller, shop):
    conversation = services.start_conversation(buyer=buyer, shop_id=shop.pk, body="Hello")
    services.send_message(user=seller, conversation_id=conversation.pk, body="Hi there")
    conversation.refresh_from_db()
    assert conversation.is_unread_by_buyer and not conversation.is_unread_by_seller
    services.mark_read(user=buyer, conversation_id=conversation.pk)
    conversation.refresh_from_db()
    assert not conversation.is_unread_by_buyer


def test_strangers_cannot_send_read_or_see_a_thread_and_nothing_changes(buyer, other_buyer, shop):
    conversation = services.start_conversation(buyer=buyer, shop_id=shop.pk, body="Hello")
    rogue_seller = ShopFactory().owner
    before = list(Conversation.objects.values())
    for stranger in (other_buyer, rogue_seller):
        with pytest.raises(ConversationNotFound):
            services.send_message(user=stranger, conversation_id=conversation.pk, body="hijack")
        with pytest.raises(ConversationNotFound):
            services.mark_read(user=stranger, conversation_id=conversation.pk)
        with pytest.raises(ConversationNotFound):
            selectors.get_conversation_for_user(user=stranger, conversation_id=conversation.pk)
    assert list(Conversation.objects.values()) == before and Message.objects.count() == 1


def test_buyer_list_puts_unread_threads_first(buyer, seller, shop):
    older = services.start_conversation(buyer=buyer, shop_id=shop.pk, body="First question")
    newer = services.start_conversation(buyer=buyer, shop_id=ShopFactory().pk, body="Second question")
    services.send_message(user=seller, conversation_id=older.pk, body="An answer")
    services.send_message(user=buyer, conversation_id=newer.pk, body="A follow-up")  # newest, but read
    assert [c.pk for c in selectors.list_conversations_for_buyer(buyer=buyer)] == [older.pk, newer.pk]
    assert selectors.count_unread_conversations(user_id=buyer.pk) == 1


def test_unread_count_is_cached_and_dropped_after_a_reply_commits(
    buyer, seller, shop, django_assert_num_queries, django_capture_on_commit_callbacks
):
    conversation = services.start_conversation(buyer=buyer, shop_id=shop.pk, body="Hello")
    assert selectors.count_unread_conversations(user_id=buyer.pk) == 0
    with django_assert_num_queries(0):
        assert selectors.count_unread_conversations(user_id=buyer.pk) == 0
    with django_capture_on_commit_callbacks(execute=True):
        services.send_message(user=seller, conversation_id=conversation.pk, body="Reply")
    assert selectors.count_unread_conversations(user_id=buyer.pk) == 1
    with django_capture_on_commit_callbacks(execute=True):
        services.mark_read(user=buyer, conversation_id=conversation.pk)
    assert selectors.count_unread_conversations(user_id=buyer.pk) == 0


def test_every_message_publishes_its_notification_and_a_rollback_publishes_nothing(
    buyer, shop, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        conversation = services.start_conversation(buyer=buyer, shop_id=shop.pk, body="Hello")
    (row,) = OutboxMessage.objects.filter(topic="messaging.message_sent")
    assert row.payload == {"message_id": conversation.messages.get().pk}
    assert callbacks  # handed to Celery after commit
    with django_capture_on_commit_callbacks() as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            services.send_message(user=buyer, conversation_id=conversation.pk, body="Again")
            raise RuntimeError("rolled back")
    assert OutboxMessage.objects.filter(topic="messaging.message_sent").count() == 1
    assert Message.objects.count() == 1


def test_a_block_by_either_side_stops_new_messages(buyer, seller, shop):
    conversation = services.start_conversation(buyer=buyer, shop_id=shop.pk, body="Hello")
    services.set_blocked(user=seller, conversation_id=conversation.pk, blocked=True)
    with pytest.raises(Blocked):
        services.send_message(user=buyer, conversation_id=conversation.pk, body="Please?")
    with pytest.raises(Blocked):
        services.start_conversation(buyer=buyer, shop_id=shop.pk, body="New thread")
    services.set_blocked(user=seller, conversation_id=conversation.pk, blocked=False)
    services.send_message(user=buyer, conversation_id=conversation.pk, body="Thanks")
    services.set_blocked(user=buyer, conversation_id=conversation.pk, blocked=True)
    with pytest.raises(Blocked):
        services.send_message(user=seller, conversation_id=conversation.pk, body="Buy more!")


def test_reports_go_to_staff_once_and_only_for_the_other_sides_messages(buyer, seller, other_buyer, shop):
    conversation = services.start_conversation(buyer=buyer, shop_id=shop.pk, body="Hello")
    rude = services.send_message(user=seller, conversation_id=conversation.pk, body="Rude words")
    services.report_message(user=buyer, message_id=rude.pk, reason="rude")
    services.report_message(user=buyer, message_id=rude.pk, reason="again")
    assert Report.objects.filter(message=rude).count() == 1
    own = conversation.messages.get(side=Side.BUYER)
    with pytest.raises(ConversationNotFound):
        services.report_message(user=buyer, message_id=own.pk)
    with pytest.raises(ConversationNotFound):
        services.report_message(user=other_buyer, message_id=rude.pk)
    assert services.resolve_reports(report_ids=Report.objects.values_list("pk", flat=True)) == 1


def test_new_conversations_are_limited_per_hour_and_stricter_for_new_accounts(settings, old_buyer):
    settings.MESSAGING_CONVERSATIONS_PER_HOUR = 3
    settings.MESSAGING_CONVERSATIONS_PER_HOUR_NEW = 1
    shops = [ShopFactory() for _ in range(4)]
    for shop in shops[:3]:
        services.start_conversation(buyer=old_buyer, shop_id=shop.pk, body="Hello")
    with pytest.raises(RateLimited) as caught:
        services.start_conversation(buyer=old_buyer, shop_id=shops[3].pk, body="Hello")
    assert 0 < caught.value.retry_after <= 3600
    assert Conversation.objects.filter(buyer=old_buyer).count() == 3

    newcomer = UserFactory()
    services.start_conversation(buyer=newcomer, shop_id=shops[0].pk, body="Hi")
    with pytest.raises(RateLimited):
        services.start_conversation(buyer=newcomer, shop_id=shops[1].pk, body="Hi")


def test_messages_are_limited_per_hour(settings, old_buyer, shop):
    settings.MESSAGING_MESSAGES_PER_HOUR = 2
    conversation = services.start_conversation(buyer=old_buyer, shop_id=shop.pk, body="One")
    services.send_message(user=old_buyer, conversation_id=conversation.pk, body="Two")
    with pytest.raises(RateLimited):
        services.send_message(user=old_buyer, conversation_id=conversation.pk, body="Three")
    assert conversation.messages.count() == 2


def test_the_database_refuses_an_over_long_body(buyer, shop):
    from django.db import IntegrityError

    conversation = services.start_conversation(buyer=buyer, shop_id=shop.pk, body="Hello")
    with pytest.raises(IntegrityError), transaction.atomic():
        Message.objects.filter(conversation=conversation).update(body="x" * 2001)


def test_offer_price_is_a_decimal_listing_for_the_buyer_only(buyer, seller, shop, product):
    conversation = services.request_custom_piece(
        buyer=buyer, shop_id=shop.pk, what="A blue teapot", product_id=product.pk
    )
    message = services.offer_reserved_listing(
        seller=seller, conversation_id=conversation.pk, title="Blue teapot for Bea", price=Decimal("80.00")
    )
    assert message.kind == Message.Kind.RESERVED_LISTING
    assert message.product.reserved_for == buyer and message.product.category == product.category
