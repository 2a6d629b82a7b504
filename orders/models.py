import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils import timezone


@dataclass(frozen=True)
class ReviewWindow:
    opens_at: datetime
    closes_at: datetime

    def contains(self, moment: datetime) -> bool:
        return self.opens_at <= moment < self.closes_at


def review_window_of(order: "Order") -> ReviewWindow | None:
    """The one rule of the review window (``Order.review_window``)."""
    if order.status == Order.Status.DELIVERED and order.delivered_at:
        opens = order.delivered_at
    elif order.status in (Order.Status.SHIPPED, Order.Status.DELIVERED) and order.estimated_delivery:
        opens = timezone.make_aware(datetime.combine(order.estimated_delivery, time.min))
    else:
        return None
    return ReviewWindow(opens_at=opens, closes_at=opens + timedelta(days=settings.REVIEW_WINDOW_DAYS))


class Checkout(models.Model):
    """One buyer's checkout: one payment for the orders it created, one order per shop."""

    class PaymentStatus(models.TextChoices):
        PENDING = "pending", "Pending"
        PAID = "paid", "Paid"
        DECLINED = "declined", "Declined"
        UNKNOWN = "unknown", "Unknown (provider timed out)"
        REQUIRES_ACTION = "requires_action", "Waiting for the buyer's authentication (3-D Secure)"
        CANCELLED = "cancelled", "Cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="checkouts")
    total = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    payment_status = models.CharField(max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.PENDING)
    # Sent to the provider so a retried or re-queried charge is the same charge.
    provider_idempotency_key = models.CharField(max_length=64, unique=True)
    # The provider's payment (Stripe PaymentIntent), stored before it is confirmed: an unknown
    # outcome is looked up by it, and webhooks find the checkout by it.
    provider_payment_id = models.CharField(max_length=255, blank=True, db_index=True)
    provider_charge_id = models.CharField(max_length=100, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    payment_attempts = models.PositiveSmallIntegerField(default=0)
    # Shipping address, shared by the orders of this checkout.
    ship_name = models.CharField(max_length=120)
    ship_line1 = models.CharField(max_length=200)
    ship_line2 = models.CharField(max_length=200, blank=True)
    ship_city = models.CharField(max_length=100)
    ship_region = models.CharField(max_length=100, blank=True)
    ship_postcode = models.CharField(max_length=20)
    ship_country = models.CharField(max_length=2, default="US")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(total__gte=0), name="checkout_total_nonnegative")]
        indexes = [
            models.Index(
                fields=["payment_status", "created_at"],
                name="checkout_unresolved_idx",
                condition=Q(payment_status__in=["pending", "unknown", "requires_action"]),
            )
        ]

    def __str__(self) -> str:
        return f"Checkout {self.id} ({self.payment_status})"


class OrderQuerySet(models.QuerySet):
    def locked(self, **options) -> "OrderQuerySet":
        """These orders locked FOR NO KEY UPDATE (``select_for_update(no_key=True, **options)``), the one way the
        code locks an order: writers never change its key, and a FOR UPDATE would block the foreign-key checks
        (FOR KEY SHARE, deferred to COMMIT) of other transactions' rows that reference it, such as the payout
        handler's ledger entries, a wait that closed a deadlock with a seller's cancel."""
        return self.select_for_update(no_key=True, **options)


class Order(models.Model):
    """One buyer's purchase from one shop. Lock it with ``Order.objects.locked()``."""

    class Status(models.TextChoices):
        PENDING_PAYMENT = "pending_payment", "Pending payment"
        PAID = "paid", "Paid"
        SHIPPED = "shipped", "Shipped"
        DELIVERED = "delivered", "Delivered"
        CANCELLED = "cancelled", "Cancelled"

    class DeliveredVia(models.TextChoices):
        BUYER = "buyer", "Confirmed by the buyer"
        CARRIER = "carrier", "Reported by the carrier"
        AUTO = "auto", "Assumed after the estimated date"

    # No index of their own: order_one_per_shop_per_checkout, order_buyer_idx and order_shop_idx lead with these
    # columns and serve every lookup by them (a checkout writes each index of its orders, twice: placed, then paid).
    checkout = models.ForeignKey(Checkout, on_delete=models.PROTECT, related_name="orders", db_index=False)
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders", db_index=False)
    shop = models.ForeignKey("shops.Shop", on_delete=models.PROTECT, related_name="orders", db_index=False)
    subtotal = models.DecimalField(max_digits=12, decimal_places=2)
    shipping = models.DecimalField(max_digits=10, decimal_places=2)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING_PAYMENT)
    # The marketplace's fees, frozen when the order is created (orders.fees): the seller's net is total - both.
    transaction_fee = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0.00"))
    processing_fee = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0.00"))
    tracking_number = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # Placed (or shipped) + processing and shipping business days (orders.delivery); recomputed on shipping.
    estimated_delivery = models.DateField(null=True, blank=True)
    delivered_via = models.CharField(max_length=10, choices=DeliveredVia.choices, blank=True)
    # Cancelled while its checkout's charge was still pending or unknown: when that charge succeeds
    # (mark_checkout_paid), this order's share is refunded at once instead of silently kept.
    refund_when_charged = models.BooleanField(default=False)

    objects = OrderQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["checkout", "shop"], name="order_one_per_shop_per_checkout"),
            models.CheckConstraint(condition=Q(subtotal__gte=0), name="order_subtotal_nonnegative"),
            models.CheckConstraint(condition=Q(shipping__gte=0), name="order_shipping_nonnegative"),
            models.CheckConstraint(condition=Q(total=F("subtotal") + F("shipping")), name="order_total_adds_up"),
            models.CheckConstraint(
                condition=Q(transaction_fee__gte=0)
                & Q(processing_fee__gte=0)
                & Q(total__gte=F("transaction_fee") + F("processing_fee")),
                name="order_fees_within_total",
            ),
        ]
        indexes = [
            models.Index(fields=["buyer", "-created_at"], name="order_buyer_idx"),
            models.Index(fields=["shop", "-created_at"], name="order_shop_idx"),
            models.Index(fields=["status"], name="order_status_idx"),
            # The tracking webhook finds orders by number, whatever case the seller typed.
            models.Index(Upper("tracking_number"), name="order_tracking_upper_idx", condition=~Q(tracking_number="")),
        ]

    def __str__(self) -> str:
        return f"Order #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("orders:detail", kwargs={"pk": self.pk})

    @property
    def fees(self) -> Decimal:
        return self.transaction_fee + self.processing_fee

    @property
    def net(self) -> Decimal:
        """What the seller receives for this order: its total less the marketplace's fees."""
        return self.total - self.fees

    @property
    def can_be_shipped(self) -> bool:
        """Only a paid order can be marked shipped."""
        return self.status == self.Status.PAID

    @property
    def is_awaiting_delivery(self) -> bool:
        """Neither delivered nor cancelled: its estimated delivery date is still worth showing."""
        return self.status in (self.Status.PENDING_PAYMENT, self.Status.PAID, self.Status.SHIPPED)

    @property
    def can_be_cancelled(self) -> bool:
        """An order can be cancelled (and restocked) until it ships."""
        return self.status in (self.Status.PENDING_PAYMENT, self.Status.PAID)

    @property
    def can_be_received(self) -> bool:
        """Only a shipped order can be confirmed delivered (a delivered one is confirmed already)."""
        return self.status == self.Status.SHIPPED

    @property
    def review_window(self) -> "ReviewWindow | None":
        """When the buyer may review (and edit the review): from delivery, or from the estimated delivery
        date for a shipped order nobody marked delivered, for ``settings.REVIEW_WINDOW_DAYS``. None: not yet."""
        return review_window_of(self)

    def is_review_window_open(self, now: datetime | None = None) -> bool:
        window = self.review_window
        return window is not None and window.contains(now or timezone.now())

    @property
    def can_be_reviewed(self) -> bool:
        """The review window is open now (the cases hook is asked by the review service, not here)."""
        return self.is_review_window_open()

    @property
    def tracking_link(self):
        """The carrier's tracking page for this order's number, or None (``orders.carriers``)."""
        from orders.carriers import tracking_link

        return tracking_link(self.tracking_number) if self.tracking_number else None


class OrderItem(models.Model):
    """A line of an order, frozen at purchase: later price or title edits never change it."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey("catalog.Product", null=True, on_delete=models.SET_NULL, related_name="order_items")
    offering = models.ForeignKey("catalog.Offering", null=True, on_delete=models.SET_NULL, related_name="order_items")
    title_at_purchase = models.CharField(max_length=200)
    # Frozen with the title: "Size: 7, Metal: Silver", the seller's SKU and the buyer's text.
    options_at_purchase = models.CharField(max_length=200, blank=True)
    sku_at_purchase = models.CharField(max_length=64, blank=True)
    personalization = models.CharField(max_length=1024, blank=True)
    price_at_purchase = models.DecimalField(max_digits=10, decimal_places=2)
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="order_item_quantity_positive"),
            models.CheckConstraint(condition=Q(price_at_purchase__gte=0), name="order_item_price_nonnegative"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.title_at_purchase}"

    @property
    def line_total(self):
        return self.price_at_purchase * self.quantity


class Review(models.Model):
    """A buyer's review of one order (at most one), shown on the shop."""

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="review")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviews")
    shop = models.ForeignKey("shops.Shop", on_delete=models.CASCADE, related_name="reviews")
    rating = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True)
    seller_reply = models.TextField(blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(rating__gte=1) & Q(rating__lte=5), name="review_rating_1_to_5"),
        ]
        indexes = [models.Index(fields=["shop", "-created_at"], name="review_shop_idx")]

    def __str__(self) -> str:
        return f"{self.rating}★ for order {self.order_id}"


class CancellationRequest(models.Model):
    """A buyer's request to cancel an order before it ships (at most one per order); the seller decides."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for the seller"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="cancellation_request")
    reason = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    # Accepted by the marketplace because the shop left it unanswered for CANCELLATION_RESPONSE_HOURS.
    accepted_on_timeout = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(status="pending", decided_at__isnull=True)
                | (~Q(status="pending") & Q(decided_at__isnull=False)),
                name="cancellation_decided_at_matches_status",
            )
        ]

    def __str__(self) -> str:
        return f"Cancellation of order {self.order_id} ({self.status})"

    @property
    def answer_due_at(self) -> datetime:
        """When an unanswered request is accepted for the shop (orders.services.cancellations)."""
        return self.requested_at + timedelta(hours=settings.CANCELLATION_RESPONSE_HOURS)


class TrackingEvent(models.Model):
    """A carrier's status for a shipped order, as its tracking webhook reported it (shown on the timeline)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="tracking_events")
    carrier = models.CharField(max_length=50)
    status = models.CharField(max_length=30)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [
            # A replayed webhook adds nothing.
            models.UniqueConstraint(fields=["order", "status", "occurred_at"], name="tracking_event_once")
        ]

    def __str__(self) -> str:
        return f"{self.carrier} {self.status} for order {self.order_id}"
