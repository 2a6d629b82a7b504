"""A buyer's case about one order ("not received", "not as described") and its thread of events.

States (``Case.Status``; the transitions live in ``cases.services``, one function each):

    open ──seller message──────────────▶ seller_responded
    open | seller_responded ──seller refunds in full──▶ resolved_refunded
    open ──seller refunds in part──────▶ seller_responded   (the buyer may accept it by closing, or escalate)
    open ──seller deadline passes (beat task)──▶ escalated
    open | seller_responded ──buyer escalates, after the deadline──▶ escalated
    escalated ──staff refund (full or an amount)──▶ resolved_refunded
    escalated ──staff close────────────▶ resolved_closed
    open | seller_responded | escalated ──buyer closes──▶ closed_by_buyer

resolved_refunded, resolved_closed and closed_by_buyer are final. Messages (buyer, seller, staff) may be
added while the case is not final and change no state, except the seller's first answer to an open case.
An order has at most one case that is not final (a partial unique index).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q


class Case(models.Model):
    class Kind(models.TextChoices):
        NOT_RECEIVED = "not_received", "Item not received"
        NOT_AS_DESCRIBED = "not_as_described", "Item not as described"

    class Status(models.TextChoices):
        OPEN = "open", "Waiting for the seller"
        SELLER_RESPONDED = "seller_responded", "The seller answered"
        ESCALATED = "escalated", "With marketplace staff"
        RESOLVED_REFUNDED = "resolved_refunded", "Resolved with a refund"
        RESOLVED_CLOSED = "resolved_closed", "Closed by marketplace staff"
        CLOSED_BY_BUYER = "closed_by_buyer", "Closed by the buyer"

    ACTIVE = (Status.OPEN, Status.SELLER_RESPONDED, Status.ESCALATED)

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="cases")
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="cases")
    shop = models.ForeignKey("shops.Shop", on_delete=models.PROTECT, related_name="cases")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    description = models.TextField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    opened_at = models.DateTimeField()
    # The seller must answer or refund by then (opened + CASE_SELLER_RESPONSE_HOURS), or the case escalates.
    seller_deadline = models.DateTimeField()
    seller_responded_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # Who closed the case: the buyer, or the staff member who decided (None for a seller's full refund).
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # What this case has given back to the buyer so far (the seller's and staff's refunds), to the cent.
    refund_amount = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(status__in=["open", "seller_responded", "escalated"]),
                name="case_one_active_per_order",
            ),
            models.CheckConstraint(condition=Q(refund_amount__gte=0), name="case_refund_nonnegative"),
            models.CheckConstraint(
                condition=~Q(status="resolved_refunded") | Q(refund_amount__gt=0), name="case_refunded_has_amount"
            ),
        ]
        indexes = [
            models.Index(fields=["shop", "-opened_at"], name="case_shop_idx"),
            models.Index(fields=["buyer", "-opened_at"], name="case_buyer_idx"),
            models.Index(fields=["seller_deadline"], name="case_overdue_idx", condition=Q(status="open")),
            models.Index(fields=["escalated_at"], name="case_escalated_idx", condition=Q(status="escalated")),
        ]

    def __str__(self) -> str:
        return f"Case #{self.pk} ({self.get_kind_display().lower()}, order #{self.order_id})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE


class EscalatedCase(Case):
    """The staff queue in the admin: escalated cases, for marketplace admins only (cases.admin)."""

    class Meta:
        proxy = True
        verbose_name = "escalated case"
        verbose_name_plural = "escalated cases (staff queue)"


class CaseEvent(models.Model):
    """One line of a case's thread: a message or a change of state, with who and when."""

    class Kind(models.TextChoices):
        OPENED = "opened", "Opened"
        MESSAGE = "message", "Message"
        REFUND = "refund", "Refund"
        ESCALATED = "escalated", "Escalated"
        DECISION = "decision", "Staff decision"
        CLOSED = "closed", "Closed by the buyer"

    class Role(models.TextChoices):
        BUYER = "buyer", "Buyer"
        SELLER = "seller", "Seller"
        STAFF = "staff", "Marketplace staff"
        SYSTEM = "system", "Marketplace"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    role = models.CharField(max_length=10, choices=Role.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    body = models.TextField(blank=True)
    # The refund this event booked (refund and refunding decision events), to the cent.
    amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gt=0), name="case_event_amount_positive"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.get_role_display().lower()} on case {self.case_id}"
