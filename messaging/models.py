"""Conversations between one buyer and one shop, their messages and pictures, blocks and reports."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual
from django.urls import reverse

#: The longest message text (a custom request's details count as text too).
MAX_BODY_LENGTH = 2000
#: Pictures one message may carry.
MAX_IMAGES_PER_MESSAGE = 3


class Side(models.TextChoices):
    BUYER = "buyer", "Buyer"
    SELLER = "seller", "Seller"


class Conversation(models.Model):
    """One thread between a buyer and a shop, optionally about a listing or an order.

    Read state is kept per side as "read up to" times; a side has unread messages when the other
    side wrote after it last read (``last_*_message_at`` are kept by ``services``).
    """

    class Kind(models.TextChoices):
        QUESTION = "question", "Question"
        CUSTOM_REQUEST = "custom_request", "Custom order request"

    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations")
    shop = models.ForeignKey("shops.Shop", on_delete=models.CASCADE, related_name="conversations")
    product = models.ForeignKey(
        "catalog.Product", null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations"
    )
    order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.QUESTION)
    subject = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    last_message_at = models.DateTimeField()
    last_buyer_message_at = models.DateTimeField(null=True, blank=True)
    last_seller_message_at = models.DateTimeField(null=True, blank=True)
    buyer_read_at = models.DateTimeField(null=True, blank=True)
    seller_read_at = models.DateTimeField(null=True, blank=True)
    is_archived_by_seller = models.BooleanField(default=False)
    # When each side was last emailed about this thread (the batching of notifications).
    buyer_emailed_at = models.DateTimeField(null=True, blank=True)
    seller_emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_message_at", "-id"]
        indexes = [
            models.Index(fields=["buyer", "-last_message_at"], name="conversation_buyer_recent"),
            models.Index(fields=["shop", "-last_message_at"], name="conversation_shop_recent"),
        ]

    def __str__(self) -> str:
        return self.subject

    def get_absolute_url(self) -> str:
        return reverse("messaging:detail", kwargs={"pk": self.pk})

    def has_unread_for(self, side: str) -> bool:
        """Whether ``side`` has messages from the other side it has not read."""
        if side == Side.BUYER:
            other, read = self.last_seller_message_at, self.buyer_read_at
        else:
            other, read = self.last_buyer_message_at, self.seller_read_at
        return other is not None and (read is None or other > read)

    @property
    def is_unread_by_buyer(self) -> bool:
        return self.has_unread_for(Side.BUYER)

    @property
    def is_unread_by_seller(self) -> bool:
        return self.has_unread_for(Side.SELLER)


class Message(models.Model):
    """One message of a thread: text, up to three pictures, and an optional card (custom request, reserved listing)."""

    class Kind(models.TextChoices):
        TEXT = "text", "Message"
        CUSTOM_REQUEST = "custom_request", "Custom order request"
        RESERVED_LISTING = "reserved_listing", "Reserved listing"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sent_messages")
    side = models.CharField(max_length=10, choices=Side.choices)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.TEXT)
    body = models.TextField(max_length=MAX_BODY_LENGTH, blank=True)
    # A custom request's structured answers: {"what", "budget", "by_when"} (text, shown escaped).
    details = models.JSONField(default=dict, blank=True)
    # The listing a seller reserved for the buyer (kind reserved_listing).
    product = models.ForeignKey(
        "catalog.Product", null=True, blank=True, on_delete=models.SET_NULL, related_name="offer_messages"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("body"), MAX_BODY_LENGTH), name="message_body_max_length"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_side_display()} message {self.pk} in conversation {self.conversation_id}"


class MessageImage(models.Model):
    """A picture attached to a message, re-encoded by etsy.images (server-chosen name)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(upload_to="messages/%Y/%m/", width_field="width", height_field="height")
    thumbnail = models.ImageField(upload_to="messages/thumbs/%Y/%m/", blank=True)
    width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"Picture {self.position} of message {self.message_id}"


class Block(models.Model):
    """One side refusing messages from the other: a shop blocks a buyer, or a buyer blocks a shop."""

    shop = models.ForeignKey("shops.Shop", on_delete=models.CASCADE, related_name="message_blocks")
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="message_blocks")
    blocked_by = models.CharField(max_length=10, choices=Side.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "buyer", "blocked_by"], name="block_unique")]

    def __str__(self) -> str:
        return f"{self.get_blocked_by_display()} block: shop {self.shop_id} / buyer {self.buyer_id}"


class Report(models.Model):
    """A message reported to the marketplace staff (the superusers' admin queue)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="message_reports")
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["resolved_at", "-created_at"]
        constraints = [models.UniqueConstraint(fields=["message", "reporter"], name="report_once_per_reporter")]

    def __str__(self) -> str:
        return f"Report of message {self.message_id}"
