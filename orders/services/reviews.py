"""Reviews of delivered orders and the seller's public reply.

A review changes its shop's rating: ``shops.services.recompute_shop_rating`` runs in the same
transaction and announces ``shops.signals.shop_changed`` after commit (cache and search
listeners refresh the shop).
"""

from __future__ import annotations

from functools import partial

from django.db import IntegrityError, transaction
from django.utils import timezone

from etsy.exceptions import DomainError, NotFound
from orders.models import Order, Review
from shops.models import Shop
from shops.services import recompute_shop_rating
from shops.signals import shop_changed

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


class InvalidReview(DomainError):
    code = "invalid_review"
    status_code = 400
    default_message = "A rating is a whole number from 1 to 5."


@transaction.atomic
def leave_review(*, buyer, order_id: int, rating: int, comment: str = "") -> Review:
    """Review one of ``buyer``'s delivered orders (once) and refresh the shop rating.

    Raises ReviewOrderNotFound (missing or someone else's), OrderNotReviewable, AlreadyReviewed,
    InvalidReview. Sends shop_changed after commit.
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

    Sends shop_changed(fields=["reviews"]) after commit so cached review lists refresh.
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
    transaction.on_commit(partial(shop_changed.send, sender=Shop, shop_id=review.shop_id, fields=["reviews"]))
    return review
