"""Writes of messaging: start a thread, send, read, archive, offer a reserved listing, block, report.

Every new message publishes ``messaging.message_sent`` to the outbox in the same transaction
(``messaging.events`` emails the other side, batched). Pictures are validated and re-encoded
before anything is written, so a bad picture stores nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from catalog.models import Category, Product
from catalog.services import listings
from catalog.services.listings import InvalidListing
from etsy import images, outbox
from messaging import limits, selectors
from messaging.events import TOPIC_MESSAGE_SENT
from messaging.exceptions import Blocked, CannotMessage, ConversationNotFound, InvalidMessage
from messaging.models import (
    MAX_BODY_LENGTH,
    MAX_IMAGES_PER_MESSAGE,
    Block,
    Conversation,
    Message,
    MessageImage,
    Report,
    Side,
)
from orders.exceptions import OrderNotFound
from orders.selectors import get_order_for_buyer
from shops.models import Shop

MAX_DETAIL_LENGTH = 200  # budget, "by when"
MAX_WHAT_LENGTH = 1000


def _invalid(field: str, message: str) -> InvalidMessage:
    return InvalidMessage(message, extra={"fields": {field: [message]}})


def clean_body(body, *, required: bool = True, field: str = "body", max_length: int = MAX_BODY_LENGTH) -> str:
    """Return the text trimmed. Raises InvalidMessage (field error) when empty or too long."""
    text = body.strip() if isinstance(body, str) else ""
    if required and not text:
        raise _invalid(field, "Write a message.")
    if len(text) > max_length:
        raise _invalid(field, f"Keep it under {max_length} characters (this is {len(text)}).")
    return text


def process_images(uploads: Iterable) -> list[images.ProcessedImage]:
    """Validate and re-encode up to three pictures. Raises InvalidMessage (field ``images``)."""
    uploads = [u for u in uploads if u]
    if len(uploads) > MAX_IMAGES_PER_MESSAGE:
        raise _invalid("images", f"Attach at most {MAX_IMAGES_PER_MESSAGE} pictures.")
    processed = []
    for upload in uploads:
        try:
            processed.append(images.process_upload(upload, max_side=1200, thumbnail_side=320))
        except images.InvalidImage as exc:
            raise _invalid("images", exc.message) from exc
    return processed


def _store_images(*, message: Message, processed: list[images.ProcessedImage]) -> None:
    for position, picture in enumerate(processed):
        stored = MessageImage(message=message, position=position)
        stored.image.save(picture.name, ContentFile(picture.content), save=False)
        stored.thumbnail.save(picture.name, ContentFile(picture.thumbnail), save=False)
        stored.save()


def _refuse_if_blocked(*, shop_id: int, buyer_id: int) -> None:
    if selectors.is_blocked(shop_id=shop_id, buyer_id=buyer_id):
        raise Blocked()


def _add_message(
    *,
    conversation: Conversation,
    sender,
    side: str,
    body: str,
    kind: str = Message.Kind.TEXT,
    details: dict | None = None,
    product: Product | None = None,
    processed: list[images.ProcessedImage] = (),
    now: datetime,
) -> Message:
    message = Message.objects.create(
        conversation=conversation,
        sender=sender,
        side=side,
        kind=kind,
        body=body,
        details=details or {},
        product=product,
    )
    _store_images(message=message, processed=list(processed))
    # The sender has read everything up to their own message; the thread comes back from the archive.
    conversation.last_message_at = message.created_at
    if side == Side.BUYER:
        conversation.last_buyer_message_at = message.created_at
        conversation.buyer_read_at = message.created_at
        conversation.is_archived_by_seller = False
    else:
        conversation.last_seller_message_at = message.created_at
        conversation.seller_read_at = message.created_at
    conversation.save()
    outbox.publish(topic=TOPIC_MESSAGE_SENT, payload={"message_id": message.pk}, relay=True)
    return message


def _lock_conversation(*, user, conversation_id, side: str | None = None) -> Conversation:
    conversation = selectors.get_conversation_for_user(user=user, conversation_id=conversation_id, side=side)
    Conversation.objects.select_for_update().filter(pk=conversation.pk).first()
    conversation.refresh_from_db()
    return conversation


def _open_shop(shop_id, *, buyer) -> Shop:
    try:
        shop = Shop.objects.filter(is_active=True).get(pk=int(shop_id))
    except (Shop.DoesNotExist, TypeError, ValueError, OverflowError):
        raise CannotMessage(
            "No such shop, or it is closed.", extra={"fields": {"shop_id": ["No such shop."]}}
        ) from None
    if shop.owner_id == buyer.pk:
        raise CannotMessage("This is your own shop.")
    return shop


def _listing_of(shop: Shop, product_id, *, buyer) -> Product | None:
    if product_id in (None, ""):
        return None
    try:
        return Product.objects.visible_to(buyer.pk).get(pk=int(product_id), shop=shop)
    except (Product.DoesNotExist, TypeError, ValueError, OverflowError):
        raise CannotMessage(
            "That listing is not one of this shop's.", extra={"fields": {"product_id": ["No such listing."]}}
        ) from None


def _order_of(shop: Shop, order_id, *, buyer):
    if order_id in (None, ""):
        return None
    try:
        order = get_order_for_buyer(buyer=buyer, order_id=order_id)
    except OrderNotFound:
        order = None
    if order is None or order.shop_id != shop.pk:
        raise CannotMessage(
            "That order is not one of yours from this shop.", extra={"fields": {"order_id": ["No such order."]}}
        )
    return order


@transaction.atomic
def start_conversation(
    *, buyer, shop_id, body: str, product_id=None, order_id=None, uploads: Iterable = (), now: datetime | None = None
) -> Conversation:
    """Ask a shop a question, about a listing or an order; the thread about the same thing is reused.

    Raises InvalidMessage, CannotMessage, Blocked, RateLimited. Publishes the email notification.
    """
    now = now or timezone.now()
    body = clean_body(body)
    processed = process_images(uploads)
    shop = _open_shop(shop_id, buyer=buyer)
    product = _listing_of(shop, product_id, buyer=buyer)
    order = _order_of(shop, order_id, buyer=buyer)
    _refuse_if_blocked(shop_id=shop.pk, buyer_id=buyer.pk)
    conversation = (
        Conversation.objects.select_for_update()
        .filter(buyer=buyer, shop=shop, product=product, order=order, kind=Conversation.Kind.QUESTION)
        .order_by("-last_message_at")
        .first()
    )
    if conversation is None:
        limits.take(user=buyer, kind=limits.CONVERSATION, now=now)
        subject = f"Order #{order.pk}" if order else (product.title if product else f"Question for {shop.name}")
        conversation = Conversation.objects.create(
            buyer=buyer, shop=shop, product=product, order=order, subject=subject[:200], last_message_at=now
        )
    limits.take(user=buyer, kind=limits.MESSAGE, now=now)
    _add_message(conversation=conversation, sender=buyer, side=Side.BUYER, body=body, processed=processed, now=now)
    return conversation


@transaction.atomic
def request_custom_piece(
    *,
    buyer,
    shop_id,
    what: str,
    budget: str = "",
    by_when: str = "",
    product_id=None,
    uploads: Iterable = (),
    now: datetime | None = None,
) -> Conversation:
    """Open a custom order request: a new thread whose first message says what, for how much, by when.

    Raises InvalidMessage, CannotMessage, Blocked, RateLimited. Publishes the email notification.
    """
    now = now or timezone.now()
    what = clean_body(what, field="what", max_length=MAX_WHAT_LENGTH)
    budget = clean_body(budget, required=False, field="budget", max_length=MAX_DETAIL_LENGTH)
    by_when = clean_body(by_when, required=False, field="by_when", max_length=MAX_DETAIL_LENGTH)
    processed = process_images(uploads)
    shop = _open_shop(shop_id, buyer=buyer)
    product = _listing_of(shop, product_id, buyer=buyer)
    _refuse_if_blocked(shop_id=shop.pk, buyer_id=buyer.pk)
    limits.take(user=buyer, kind=limits.CONVERSATION, now=now)
    limits.take(user=buyer, kind=limits.MESSAGE, now=now)
    first_line = what.splitlines()[0]
    conversation = Conversation.objects.create(
        buyer=buyer,
        shop=shop,
        product=product,
        kind=Conversation.Kind.CUSTOM_REQUEST,
        subject=f"Custom request: {first_line}"[:200],
        last_message_at=now,
    )
    _add_message(
        conversation=conversation,
        sender=buyer,
        side=Side.BUYER,
        body=what,
        kind=Message.Kind.CUSTOM_REQUEST,
        details={"what": what, "budget": budget, "by_when": by_when},
        processed=processed,
        now=now,
    )
    return conversation


@transaction.atomic
def send_message(
    *, user, conversation_id, body: str, uploads: Iterable = (), side: str | None = None, now: datetime | None = None
) -> Message:
    """Reply in one of the user's threads (as ``side`` when given).

    Locks the conversation. Raises ConversationNotFound, InvalidMessage, Blocked, RateLimited.
    """
    now = now or timezone.now()
    conversation = _lock_conversation(user=user, conversation_id=conversation_id, side=side)
    body = clean_body(body)
    processed = process_images(uploads)
    sender_side = selectors.side_of(conversation=conversation, user=user)
    _refuse_if_blocked(shop_id=conversation.shop_id, buyer_id=conversation.buyer_id)
    limits.take(user=user, kind=limits.MESSAGE, now=now)
    return _add_message(
        conversation=conversation, sender=user, side=sender_side, body=body, processed=processed, now=now
    )


@transaction.atomic
def offer_reserved_listing(
    *,
    seller,
    conversation_id,
    title: str,
    price: Decimal,
    category: Category | None = None,
    description: str = "",
    body: str = "",
    now: datetime | None = None,
) -> Message:
    """Answer a thread with a new listing only its buyer can see and buy, shown as a card with "Add to cart".

    Locks the conversation. Raises ConversationNotFound, InvalidMessage, Blocked.
    """
    now = now or timezone.now()
    conversation = _lock_conversation(user=seller, conversation_id=conversation_id, side=Side.SELLER)
    _refuse_if_blocked(shop_id=conversation.shop_id, buyer_id=conversation.buyer_id)
    category = category or (conversation.product.category if conversation.product_id else None)
    body = clean_body(body, required=False) or f"I made a listing just for you: {title.strip()}"
    try:
        product = listings.create_product(
            shop=conversation.shop,
            title=title,
            price=price,
            category=category,
            description=description,
            quantity=1,
            reserved_for=conversation.buyer,
        )
    except InvalidListing as exc:
        raise _invalid("category" if "category" in exc.message.lower() else "title", exc.message) from exc
    return _add_message(
        conversation=conversation,
        sender=seller,
        side=Side.SELLER,
        body=body,
        kind=Message.Kind.RESERVED_LISTING,
        product=product,
        now=now,
    )


@transaction.atomic
def mark_read(*, user, conversation_id, side: str | None = None, now: datetime | None = None) -> Conversation:
    """Mark the thread read up to now for the user's side. Raises ConversationNotFound."""
    now = now or timezone.now()
    conversation = _lock_conversation(user=user, conversation_id=conversation_id, side=side)
    if selectors.side_of(conversation=conversation, user=user) == Side.BUYER:
        conversation.buyer_read_at = now
        conversation.save(update_fields=["buyer_read_at"])
    else:
        conversation.seller_read_at = now
        conversation.save(update_fields=["seller_read_at"])
    return conversation


@transaction.atomic
def set_archived(*, seller, conversation_id, archived: bool) -> Conversation:
    """Archive (or bring back) a thread in the seller's list; a new buyer message brings it back too."""
    conversation = _lock_conversation(user=seller, conversation_id=conversation_id, side=Side.SELLER)
    conversation.is_archived_by_seller = archived
    conversation.save(update_fields=["is_archived_by_seller"])
    return conversation


@transaction.atomic
def set_blocked(*, user, conversation_id, blocked: bool) -> Conversation:
    """Block (or unblock) the other side of the thread: the shop blocks the buyer, or the buyer the shop."""
    conversation = selectors.get_conversation_for_user(user=user, conversation_id=conversation_id)
    side = selectors.side_of(conversation=conversation, user=user)
    rows = Block.objects.filter(shop_id=conversation.shop_id, buyer_id=conversation.buyer_id, blocked_by=side)
    if blocked:
        Block.objects.get_or_create(shop_id=conversation.shop_id, buyer_id=conversation.buyer_id, blocked_by=side)
    else:
        rows.delete()
    return conversation


@transaction.atomic
def report_message(*, user, message_id, reason: str = "") -> Report:
    """Report a message of the other side to the marketplace staff; reporting twice keeps one report.

    Raises ConversationNotFound when the message is not in one of the user's threads.
    """
    try:
        message = Message.objects.select_related("conversation__shop").get(pk=int(message_id))
    except (Message.DoesNotExist, TypeError, ValueError, OverflowError):
        raise ConversationNotFound() from None
    side = selectors.side_of(conversation=message.conversation, user=user)
    if side is None or side == message.side:
        raise ConversationNotFound()
    reason = clean_body(reason, required=False, field="reason", max_length=500)
    report, _ = Report.objects.get_or_create(message=message, reporter=user, defaults={"reason": reason})
    return report


@transaction.atomic
def resolve_reports(*, report_ids: Iterable[int], now: datetime | None = None) -> int:
    """Mark reports handled (the staff queue's action)."""
    return Report.objects.filter(pk__in=list(report_ids), resolved_at__isnull=True).update(
        resolved_at=now or timezone.now()
    )
