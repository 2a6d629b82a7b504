"""Email notifications through the outbox: batched per conversation, none while the recipient reads, escaped."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from etsy.outbox import DEFER, DONE
from messaging import events, services
from messaging.models import Conversation

pytestmark = pytest.mark.django_db


def _payload(message) -> dict:
    return {"message_id": message.pk}


@pytest.fixture
def thread(buyer, shop):
    return services.start_conversation(buyer=buyer, shop_id=shop.pk, body="Is it <b>food safe</b>?")


def test_the_handler_is_registered_for_the_topic():
    from etsy.outbox import get_handler

    assert get_handler("messaging.message_sent") is events.notify_other_side


def test_a_buyer_message_emails_the_shop_owner_with_a_link_and_escaped_text(thread, seller):
    message = thread.messages.get()
    assert events.notify_other_side(_payload(message)) == DONE
    (email,) = mail.outbox
    assert email.to == [seller.email]
    assert f"/admin/messaging/conversation/{thread.pk}/change/" in email.body
    html = email.alternatives[0][0]
    assert "&lt;b&gt;food safe&lt;/b&gt;" in html and "<b>food safe</b>" not in html
    assert "\n" not in email.subject


def test_the_whole_thing_runs_through_the_outbox_after_commit(buyer, shop, seller, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.start_conversation(buyer=buyer, shop_id=shop.pk, body="Hello")
    assert [m.to for m in mail.outbox] == [[seller.email]]


def test_messages_inside_the_batch_window_wait_and_go_out_together(thread, buyer, seller, settings):
    settings.MESSAGING_EMAIL_BATCH_MINUTES = 10
    first = thread.messages.get()
    now = timezone.now()
    assert events.notify_other_side(_payload(first), now=now) == DONE
    second = services.send_message(user=buyer, conversation_id=thread.pk, body="Also: does it fit 1 litre?")
    third = services.send_message(user=buyer, conversation_id=thread.pk, body="And a lid?")
    assert events.notify_other_side(_payload(second), now=now + timedelta(minutes=3)) == DEFER
    assert len(mail.outbox) == 1
    later = now + timedelta(minutes=11)
    assert events.notify_other_side(_payload(second), now=later) == DONE
    assert events.notify_other_side(_payload(third), now=later) == DONE  # covered by the batch
    assert len(mail.outbox) == 2
    assert "1 litre" in mail.outbox[1].body and "a lid" in mail.outbox[1].body


def test_no_email_when_the_recipient_read_the_thread_after_the_message(thread, buyer, seller):
    reply = services.send_message(user=seller, conversation_id=thread.pk, body="Yes it is")
    services.mark_read(user=buyer, conversation_id=thread.pk)
    assert events.notify_other_side(_payload(reply)) == DONE
    assert mail.outbox == []


def test_a_recipient_on_the_thread_right_now_is_not_emailed_yet(thread, buyer, seller):
    services.mark_read(user=buyer, conversation_id=thread.pk)
    reply = services.send_message(user=seller, conversation_id=thread.pk, body="Yes it is")
    Conversation.objects.filter(pk=thread.pk).update(buyer_read_at=reply.created_at - timedelta(seconds=5))
    assert events.notify_other_side(_payload(reply), now=reply.created_at + timedelta(seconds=30)) == DEFER
    assert mail.outbox == []
    assert events.notify_other_side(_payload(reply), now=reply.created_at + timedelta(minutes=6)) == DONE
    assert [m.to for m in mail.outbox] == [[buyer.email]]
    assert f"/messages/{thread.pk}/" in mail.outbox[0].body


def test_a_vanished_message_is_done_without_email():
    assert events.notify_other_side({"message_id": 10**9}) == DONE
    assert mail.outbox == []
