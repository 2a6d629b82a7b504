"""Reviews: buyers review delivered orders once; the shop rating follows; sellers reply."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from orders.models import Order, Review
from orders.services import reviews
from shops.models import Shop
from shops.signals import shop_changed
from tests.accounts.factories import UserFactory
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivered(buyer, shop):
    return OrderFactory(buyer=buyer, shop=shop, status=Order.Status.DELIVERED)


def test_leave_review_recomputes_rating_and_announces_after_commit(
    buyer, shop, delivered, django_capture_on_commit_callbacks
):
    received = []
    handler = lambda sender, **kw: received.append(kw)  # noqa: E731
    shop_changed.connect(handler)
    try:
        OrderFactory(buyer=buyer, shop=shop, status=Order.Status.DELIVERED)
        first = Review.objects.create(
            order=OrderFactory(buyer=buyer, shop=shop, status=Order.Status.DELIVERED),
            reviewer=buyer,
            shop=shop,
            rating=2,
        )
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            review = reviews.leave_review(buyer=buyer, order_id=delivered.pk, rating=5, comment=" Lovely ")
        assert received == []  # nothing before commit
        for callback in callbacks:
            callback()
    finally:
        shop_changed.disconnect(handler)
    assert review.comment == "Lovely" and review.shop_id == shop.pk and first.pk
    shop.refresh_from_db()
    assert shop.rating == Decimal("3.5") and shop.review_count == 2
    # The new review (orders.receivers, for any writer) and the new rating (the service), each once.
    assert received == [
        {"signal": shop_changed, "shop_id": shop.pk, "fields": ["reviews"]},
        {"signal": shop_changed, "shop_id": shop.pk, "fields": ["rating", "review_count"]},
    ]


@pytest.mark.parametrize("status", [Order.Status.PAID, Order.Status.SHIPPED, Order.Status.CANCELLED])
def test_only_delivered_orders_can_be_reviewed(buyer, shop, status):
    order = OrderFactory(buyer=buyer, shop=shop, status=status)
    with pytest.raises(reviews.OrderNotReviewable):
        reviews.leave_review(buyer=buyer, order_id=order.pk, rating=4)
    assert not Review.objects.exists()


def test_one_review_per_order(buyer, delivered):
    reviews.leave_review(buyer=buyer, order_id=delivered.pk, rating=4)
    with pytest.raises(reviews.AlreadyReviewed):
        reviews.leave_review(buyer=buyer, order_id=delivered.pk, rating=1)
    assert Review.objects.get().rating == 4


def test_someone_elses_order_is_not_found(other_buyer, delivered):
    with pytest.raises(reviews.ReviewOrderNotFound):
        reviews.leave_review(buyer=other_buyer, order_id=delivered.pk, rating=5)
    with pytest.raises(reviews.ReviewOrderNotFound):
        reviews.leave_review(buyer=other_buyer, order_id=999999, rating=5)


@pytest.mark.parametrize("rating", [0, 6, "five", None])
def test_rating_must_be_1_to_5(buyer, delivered, rating):
    with pytest.raises(reviews.InvalidReview):
        reviews.leave_review(buyer=buyer, order_id=delivered.pk, rating=rating)


def test_reply_to_review_by_owner_only(buyer, seller, delivered, django_capture_on_commit_callbacks):
    review = reviews.leave_review(buyer=buyer, order_id=delivered.pk, rating=5)
    other_seller = UserFactory(is_staff=True)
    with pytest.raises(reviews.ReviewNotFound):
        reviews.reply_to_review(seller=other_seller, review_id=review.pk, reply="spam")
    received = []
    handler = lambda sender, **kw: received.append((kw["shop_id"], kw["fields"]))  # noqa: E731
    shop_changed.connect(handler)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            replied = reviews.reply_to_review(seller=seller, review_id=review.pk, reply="Thanks! ")
    finally:
        shop_changed.disconnect(handler)
    assert received == [(delivered.shop_id, ["reviews"])]
    assert replied.seller_reply == "Thanks!" and replied.replied_at is not None
    cleared = reviews.reply_to_review(seller=seller, review_id=review.pk, reply="")
    assert cleared.seller_reply == "" and cleared.replied_at is None


def test_rating_rounds_half_up(buyer, shop):
    for rating in (5, 4, 4, 4):  # mean 4.25 rounds half-up to 4.3
        order = OrderFactory(buyer=buyer, shop=shop, status=Order.Status.DELIVERED)
        reviews.leave_review(buyer=buyer, order_id=order.pk, rating=rating)
    assert Shop.objects.get(pk=shop.pk).rating == Decimal("4.3")


@pytest.mark.django_db(transaction=True)
def test_concurrent_reviews_of_one_order_create_one():
    order = OrderFactory(status=Order.Status.DELIVERED)
    barrier = threading.Barrier(5)
    outcomes = []

    def submit():
        barrier.wait()
        try:
            reviews.leave_review(buyer=order.buyer, order_id=order.pk, rating=5)
            outcomes.append("ok")
        except reviews.AlreadyReviewed:
            outcomes.append("dup")
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(5)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(outcomes) == ["dup"] * 4 + ["ok"]
    shop = Shop.objects.get(pk=order.shop_id)
    assert shop.review_count == 1 and shop.rating == Decimal("5.0")


def test_review_from_the_site_refreshes_the_cached_shop_page(client, buyer, shop, django_capture_on_commit_callbacks):
    from django.urls import reverse

    Shop.objects.filter(pk=shop.pk).update(rating=None, review_count=0)
    order = OrderFactory(buyer=buyer, shop=shop, status=Order.Status.DELIVERED)
    shop_url = reverse("shops:detail", kwargs={"slug": shop.slug})
    assert "rated" not in client.get(shop_url).content.decode()  # now cached without a rating
    client.force_login(buyer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("orders:review", args=[order.pk]), {"rating": "4", "comment": "Lovely glaze"})
    assert response.status_code == 302
    client.logout()
    page = client.get(shop_url).content.decode()
    assert 'aria-label="rated 4.0 out of 5"' in page and "(1 review)" in page and "Lovely glaze" in page
