"""Reads of conversations with their rules: who may see a thread, what is unread, the header's count."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db.models import Case, DateTimeField, F, Prefetch, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce

from etsy import cache
from messaging.exceptions import ConversationNotFound
from messaging.models import Block, Conversation, Message, Side

_NEVER = Value(datetime(1970, 1, 1, tzinfo=UTC), output_field=DateTimeField())

#: The header badge's count is kept this long; every change of a buyer's thread deletes it.
UNREAD_TTL = 5 * 60


def _unread_by_buyer() -> Q:
    return Q(last_seller_message_at__gt=Coalesce(F("buyer_read_at"), _NEVER))


def _unread_by_seller() -> Q:
    return Q(last_buyer_message_at__gt=Coalesce(F("seller_read_at"), _NEVER))


def side_of(*, conversation: Conversation, user) -> str | None:
    """The side ``user`` takes in ``conversation`` (reads the shop: select_related it), or None."""
    if user is None or not user.is_authenticated:
        return None
    if conversation.buyer_id == user.pk:
        return Side.BUYER
    if conversation.shop.owner_id == user.pk:
        return Side.SELLER
    return None


def _participant(user) -> Q:
    return Q(buyer_id=user.pk) | Q(shop__owner_id=user.pk)


def _with_cards(queryset: QuerySet[Conversation]) -> QuerySet[Conversation]:
    return queryset.select_related("shop", "buyer", "product", "order")


def list_conversations_for_user(*, user) -> QuerySet[Conversation]:
    """Threads where ``user`` is the buyer or the shop owner, unread ones first, then the latest."""
    unread = (Q(buyer_id=user.pk) & _unread_by_buyer()) | (Q(shop__owner_id=user.pk) & _unread_by_seller())
    return (
        _with_cards(Conversation.objects.filter(_participant(user)))
        .annotate(is_unread=Case(When(unread, then=Value(True)), default=Value(False)))
        .order_by("-is_unread", "-last_message_at", "-id")
    )


def list_conversations_for_buyer(*, buyer) -> QuerySet[Conversation]:
    """The buyer's threads (the Messages page), unread first."""
    return (
        _with_cards(Conversation.objects.filter(buyer_id=buyer.pk))
        .annotate(is_unread=Case(When(_unread_by_buyer(), then=Value(True)), default=Value(False)))
        .order_by("-is_unread", "-last_message_at", "-id")
    )


def with_seller_unread(queryset: QuerySet[Conversation]) -> QuerySet[Conversation]:
    """Annotate ``is_unread_by_shop`` (the buyer wrote after the shop last read): the admin lists those first."""
    return queryset.annotate(is_unread_by_shop=Case(When(_unread_by_seller(), then=Value(True)), default=Value(False)))


def get_conversation_for_user(*, user, conversation_id, side: str | None = None) -> Conversation:
    """One thread of ``user`` (as ``side`` when given). Raises ConversationNotFound for anybody else's."""
    if user is None or not user.is_authenticated:
        raise ConversationNotFound()
    if side == Side.BUYER:
        allowed = Q(buyer_id=user.pk)
    elif side == Side.SELLER:
        allowed = Q(shop__owner_id=user.pk)
    else:
        allowed = _participant(user)
    try:
        return _with_cards(Conversation.objects.filter(allowed)).get(pk=int(conversation_id))
    except (Conversation.DoesNotExist, TypeError, ValueError, OverflowError):
        raise ConversationNotFound() from None


def list_messages(*, conversation: Conversation) -> QuerySet[Message]:
    return (
        Message.objects.filter(conversation=conversation)
        .select_related("product__shop", "sender")
        .prefetch_related("images", Prefetch("product__images"))
        .order_by("created_at", "id")
    )


def is_blocked(*, shop_id: int, buyer_id: int) -> bool:
    """Whether either side has blocked the other."""
    return Block.objects.filter(shop_id=shop_id, buyer_id=buyer_id).exists()


def get_block_state(*, shop_id: int, buyer_id: int) -> set[str]:
    """Which sides have blocked (``{"buyer"}``, ``{"seller"}``, both or none)."""
    return set(Block.objects.filter(shop_id=shop_id, buyer_id=buyer_id).values_list("blocked_by", flat=True))


def count_unread_conversations(*, user_id: int) -> int:
    """Threads with a reply the buyer has not read (the header badge); cached per user in Redis."""
    key = cache.unread_messages_key(user_id)
    count = cache.get(key, cache_type="messages")
    if count is None:
        count = Conversation.objects.filter(Q(buyer_id=user_id) & _unread_by_buyer()).count()
        cache.set(key, count, ttl=UNREAD_TTL)
    return int(count)


def forget_unread_count(*, user_id: int) -> None:
    cache.delete(cache.unread_messages_key(user_id))
