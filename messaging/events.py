"""Messaging's outbox topic: email the other side of a thread, batched, never while they are reading it.

At most one email per conversation and recipient every ``MESSAGING_EMAIL_BATCH_MINUTES``: a message
arriving inside that window is deferred (the outbox sweep hands it over again a few minutes later) and
goes out with the others in the next email; once an email has covered it, its row is done. A recipient
who read the thread after the message needs no email; one who read it moments ago is probably still on
the page, so the row is deferred and looked at again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from etsy.emails import send_templated_email
from etsy.outbox import DEFER, DONE
from messaging.models import Block, Conversation, Message, Side

logger = logging.getLogger(__name__)

TOPIC_MESSAGE_SENT = "messaging.message_sent"

#: A recipient who read the thread this recently is taken to be reading it now.
READING_WINDOW = timedelta(minutes=2)


def _link(conversation: Conversation, side: str) -> str:
    if side == Side.SELLER:
        path = reverse("admin:messaging_conversation_change", args=[conversation.pk])
    else:
        path = conversation.get_absolute_url()
    return settings.SITE_URL + path


def notify_other_side(payload: dict, *, now: datetime | None = None) -> str:
    """Email the recipient of a message (with the thread's other unread messages), or wait, or skip."""
    now = now or timezone.now()
    message = (
        Message.objects.select_related("conversation__shop__owner", "conversation__buyer", "sender")
        .filter(pk=payload["message_id"])
        .first()
    )
    if message is None:
        return DONE
    conversation = message.conversation
    recipient_side = Side.SELLER if message.side == Side.BUYER else Side.BUYER
    if recipient_side == Side.SELLER:
        read_at, emailed_at, to = conversation.seller_read_at, conversation.seller_emailed_at, conversation.shop.owner
    else:
        read_at, emailed_at, to = conversation.buyer_read_at, conversation.buyer_emailed_at, conversation.buyer
    if read_at is not None and read_at >= message.created_at:
        return DONE  # read already
    if emailed_at is not None and emailed_at >= message.created_at:
        return DONE  # a batch email sent after it covered it
    if Block.objects.filter(shop_id=conversation.shop_id, buyer_id=conversation.buyer_id).exists():
        return DONE
    if read_at is not None and now - read_at < READING_WINDOW:
        return DEFER  # on the thread right now: look again later
    if emailed_at is not None and now - emailed_at < timedelta(minutes=settings.MESSAGING_EMAIL_BATCH_MINUTES):
        return DEFER  # the next batch takes it
    since = max(d for d in (read_at, emailed_at, conversation.created_at - timedelta(seconds=1)) if d is not None)
    unread = list(
        conversation.messages.filter(side=message.side, created_at__gt=since).order_by("created_at", "id")[:20]
    )
    context = {
        "conversation": conversation,
        "messages": unread or [message],
        "sender_name": conversation.shop.name if message.side == Side.SELLER else conversation.buyer.public_name,
        "recipient": to,
        "link": _link(conversation, recipient_side),
    }
    send_templated_email(template="message_new", to=[to.email], context=context)
    Conversation.objects.filter(pk=conversation.pk).update(**{f"{recipient_side}_emailed_at": now})
    logger.info("message notification sent", extra={"conversation_id": conversation.pk, "side": recipient_side})
    return DONE


HANDLERS = {TOPIC_MESSAGE_SENT: notify_other_side}
