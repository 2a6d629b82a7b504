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
    default_message = "You can review this order once it's delivered."


class ReviewWindowClosed(DomainError):
    """``extra["closed_at"]``: when the window closed (ISO 8601)."""

    code = "review_window_closed"
    default_message = "Reviews can be left or edited only within 100 days of delivery."


class CaseOpen(DomainError):
    code = "case_open"
    default_message = "A case is open on this order: reviews wait until it is resolved."


class AlreadyReviewed(DomainError):
    code = "already_reviewed"
    default_message = "You already reviewed this order."


class InvalidReview(DomainError):
    code = "invalid_review"
    status_code = 400
    default_message = "A rating is a whole number from 1 to 5."


def _clean(rating, comment) -> tuple[int, str]:
    try:
        rating = int(rating)
    except (TypeError, ValueError):
        raise InvalidReview() from None
    if not 1 <= rating <= 5:
        raise InvalidReview()
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise InvalidReview(f"A review is at most {MAX_COMMENT} characters.")
    return rating, comment


def _locked_reviewable_order(*, buyer, order_id: int, now=None) -> Order:
    """Lock one of the buyer's orders and check the review rule (``Order.review_window``, the cases hook).

    The order row lock serializes two submissions of the same review.
    """
    order = Order.objects.locked().filter(pk=order_id, buyer_id=buyer.pk).first()
    if order is None:
        raise ReviewOrderNotFound()
    window = order.review_window
    if window is None:
        raise OrderNotReviewable()
    now = now or timezone.now()
    if now < window.opens_at:
        raise OrderNotReviewable(extra={"opens_at": window.opens_at.isoformat()})
    if now >= window.closes_at:
        raise ReviewWindowClosed(extra={"closed_at": window.closes_at.isoformat()})
    if extensions.is_review_blocked(order_id=order.pk):
        raise CaseOpen()
    return order


@transaction.atomic
def leave_review(*, buyer, order_id: int, rating: int, comment: str = "") -> Review:
    """Review one of ``buyer``'s orders (once) inside its review window and refresh the shop rating.

    Raises ReviewOrderNotFound (missing or someone else's), OrderNotReviewable (window not open yet),
    ReviewWindowClosed, CaseOpen, AlreadyReviewed, InvalidReview. Sends shop_changed after commit.
    """
    rating, comment = _clean(rating, comment)
    order = _locked_reviewable_order(buyer=buyer, order_id=order_id)
    if Review.objects.filter(order_id=order.pk).exists():
        raise AlreadyReviewed()
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
def edit_review(*, buyer, order_id: int, rating: int, comment: str = "") -> Review:
    """Change the buyer's review of an order inside its review window and refresh the shop rating.

    The seller's reply stays. Raises ReviewOrderNotFound, ReviewNotFound (not reviewed yet),
    OrderNotReviewable, ReviewWindowClosed, CaseOpen, InvalidReview.
    """
    rating, comment = _clean(rating, comment)
    order = _locked_reviewable_order(buyer=buyer, order_id=order_id)
    review = Review.objects.filter(order_id=order.pk).first()
    if review is None:
        raise ReviewNotFound("You have not reviewed this order yet.")
    if (review.rating, review.comment) == (rating, comment):
        return review
    review.rating, review.comment, review.edited_at = rating, comment, timezone.now()
    review.save(update_fields=["rating", "comment", "edited_at"])
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
