"""Reviews of delivered orders and the seller's public reply.

A review changes its shop's rating: ``recompute_shop_rating`` computes it from the reviews and
``shops.services.update_shop_rating`` stores it with the shop row locked, announcing
``shops.signals.shop_changed`` after commit (cache and search listeners refresh the shop).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, transaction
from django.db.models import Avg, Count
from django.utils import timezone

from etsy.exceptions import DomainError, NotFound
from orders import extensions
from orders.models import Order, Review
from shops.services import update_shop_rating

MAX_COMMENT = 5000
MAX_REPLY = 2000


class ReviewOrderNotFound(NotFound):
    code = "order_not_found"
    default_message = "That order does not exist."


class ReviewNotFound(NotFound):
    code = "review_not_found"
    default_message = "That review does not exist."


class OrderNotReviewable(DomainError):
    code = "order_not_reviewable"
    default_message = "Only delivered orders can be reviewed."


class AlreadyReviewed(DomainError):
    code = "already_reviewed"
    default_message = "You already reviewed this order."


class ReviewBlockedByCase(DomainError):
    code = "case_open"
    default_message = "A case is open on this order: you can review it once the case is closed."


class InvalidReview(DomainError):
    code = "invalid_review"
    status_code = 400
    default_message = "A rating is a whole number from 1 to 5."


@transaction.atomic
def leave_review(*, buyer, order_id: int, rating: int, comment: str = "") -> Review:
    """Review one of ``buyer``'s delivered orders (once) and refresh the shop rating.

    Raises ReviewOrderNotFound (missing or someone else's), OrderNotReviewable, AlreadyReviewed,
    ReviewBlockedByCase (a case is open: orders.extensions.is_review_blocked), InvalidReview.
    Sends shop_changed after commit.
    """
    try:
        rating = int(rating)
    except (TypeError, ValueError):
        raise InvalidReview() from None
    if not 1 <= rating <= 5:
        raise InvalidReview()
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise InvalidReview(f"A review is at most {MAX_COMMENT} characters.")
    # The order row lock serializes two submissions of the same review.
    order = Order.objects.select_for_update().filter(pk=order_id, buyer_id=buyer.pk).first()
    if order is None:
        raise ReviewOrderNotFound()
    if order.status != Order.Status.DELIVERED:
        raise OrderNotReviewable()
    if Review.objects.filter(order_id=order.pk).exists():
        raise AlreadyReviewed()
    if extensions.is_review_blocked(order_id=order.pk):
        raise ReviewBlockedByCase()
    try:
        with transaction.atomic():
            review = Review.objects.create(
                order=order, reviewer_id=buyer.pk, shop_id=order.shop_id, rating=rating, comment=comment
            )
    except IntegrityError as exc:  # the one-review-per-order constraint
        raise AlreadyReviewed() from exc
    recompute_shop_rating(shop_id=order.shop_id)
    return review


@transaction.atomic
def reply_to_review(*, seller, review_id: int, reply: str) -> Review:
    """Set the shop owner's public reply to a review (empty clears it). Raises ReviewNotFound, InvalidReview.

    Cached review lists refresh after commit (orders.receivers announces every saved review).
    """
    review = Review.objects.select_for_update().filter(pk=review_id, shop__owner_id=seller.pk).first()
    if review is None:
        raise ReviewNotFound()
    reply = (reply or "").strip()
    if len(reply) > MAX_REPLY:
        raise InvalidReview(f"A reply is at most {MAX_REPLY} characters.")
    review.seller_reply = reply
    review.replied_at = timezone.now() if reply else None
    review.save(update_fields=["seller_reply", "replied_at"])
    return review


def recompute_shop_rating(*, shop_id: int) -> None:
    """Recompute the shop's rating (mean of its reviews, one decimal) and review count."""

    def figures() -> tuple[Decimal | None, int]:
        found = Review.objects.filter(shop_id=shop_id).aggregate(avg=Avg("rating"), count=Count("id"))
        rating = None if found["avg"] is None else Decimal(found["avg"]).quantize(Decimal("0.1"), ROUND_HALF_UP)
        return rating, found["count"]

    update_shop_rating(shop_id=shop_id, compute=figures)
