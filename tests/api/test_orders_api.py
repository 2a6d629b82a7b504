"""Checkout, orders, reviews and the seller's order desk through the API."""

from decimal import Decimal

import pytest
from django.core import mail

from cart import services as cart_services
from cart.models import CartItem
from catalog.models import Product
from etsy.breakers import reset_all
from orders.models import Checkout, Order, Review
from tests.api.conftest import error_of
from tests.catalog.factories import ProductFactory
from tests.orders.factories import OrderFactory, OrderItemFactory, ReviewFactory
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db

ADDRESS = {"name": "Bea Buyer", "line1": "1 Market Street", "city": "Hudson", "postcode": "12534", "country": "US"}
GOOD_CARD = "pm_card_visa"


@pytest.fixture(autouse=True)
def _closed_breakers():
    reset_all()
    yield
    reset_all()


@pytest.fixture
def two_shop_cart(buyer, shop, category):
    other = ShopFactory(name="Second Shop", shipping_base=Decimal("3.50"), shipping_additional=Decimal("0.75"))
    products = [
        ProductFactory(shop=shop, category=category, price=Decimal("19.99"), quantity=1),
        ProductFactory(shop=shop, category=category, price=Decimal("7.45"), quantity=5),
        ProductFactory(shop=other, category=category, price=Decimal("33.10"), quantity=1),
    ]
    cart_services.add_item(user=buyer, product_id=products[0].pk)
    cart_services.add_item(user=buyer, product_id=products[1].pk, quantity=2)
    cart_services.add_item(user=buyer, product_id=products[2].pk)
    return products


def _checkout(client, key="key-1", card=GOOD_CARD, address=ADDRESS):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post("/api/v1/checkout", {"address": address, "payment_method": card}, format="json", **headers)


def test_checkout_creates_one_order_per_shop(buyer_client, buyer, shop, two_shop_cart):
    response = _checkout(buyer_client)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["payment_status"] == "paid"
    assert len(body["orders"]) == 2
    by_shop = {o["shop"]["id"]: o for o in body["orders"]}
    sams = by_shop[shop.pk]
    assert sams["subtotal"] == "34.89" and sams["shipping"] == "6.00" and sams["total"] == "40.89"
    assert sams["status"] == "paid"
    assert sorted(i["quantity"] for i in sams["items"]) == [1, 2]
    assert sams["shipping_address"]["city"] == "Hudson"
    assert body["total"] == "77.49"
    assert Order.objects.filter(buyer=buyer).count() == 2
    assert not CartItem.objects.filter(user=buyer).exists()
    assert Product.objects.get(pk=two_shop_cart[1].pk).quantity == 3
    assert response["Cache-Control"] == "private, no-store"


def test_checkout_replays_the_same_response_for_a_retried_key(buyer_client, buyer, two_shop_cart):
    first = _checkout(buyer_client, key="retry-me")
    second = _checkout(buyer_client, key="retry-me")
    assert first.status_code == second.status_code == 201
    assert first.content == second.content
    assert second["Idempotent-Replayed"] == "true"
    assert Checkout.objects.filter(buyer=buyer).count() == 1
    assert Order.objects.filter(buyer=buyer).count() == 2


def test_checkout_key_reused_for_a_different_body_is_422(buyer_client, buyer, two_shop_cart):
    assert _checkout(buyer_client, key="k").status_code == 201
    response = _checkout(buyer_client, key="k", address={**ADDRESS, "city": "Albany"})
    assert response.status_code == 422
    assert error_of(response)["code"] == "idempotency_key_reused"
    assert Checkout.objects.count() == 1


def test_checkout_requires_an_idempotency_key(buyer_client, two_shop_cart):
    response = _checkout(buyer_client, key=None)
    assert response.status_code == 400
    assert error_of(response)["code"] == "idempotency_key_missing"
    response = _checkout(buyer_client, key="bad\x01key")
    assert response.status_code == 400
    assert error_of(response)["code"] == "idempotency_key_invalid"
    assert not Order.objects.exists()


def test_checkout_errors_use_the_error_format(buyer_client, buyer, two_shop_cart):
    response = _checkout(buyer_client, key="a1", address={**ADDRESS, "country": "U1"})
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid_address" and error["fields"]["country"]
    response = _checkout(buyer_client, key="a2", card="pm_card_unknown")
    assert response.status_code == 402 and error_of(response)["code"] == "payment_method_refused"
    assert error_of(response)["extra"]["decline_code"] == "resource_missing"
    response = buyer_client.post(
        "/api/v1/checkout", {"payment_method": GOOD_CARD}, format="json", HTTP_IDEMPOTENCY_KEY="a3"
    )
    assert response.status_code == 400 and "address" in error_of(response)["fields"]
    assert not Order.objects.exists()
    # a failure before any side effect releases the key: the same key may be retried
    assert _checkout(buyer_client, key="a1").status_code == 201


def test_checkout_declined_card_is_402_and_restores_the_cart(buyer_client, buyer, two_shop_cart):
    response = _checkout(buyer_client, key="d1", card="pm_card_chargeDeclined")
    assert response.status_code == 402
    assert error_of(response)["code"] == "payment_declined"
    assert not Order.objects.filter(buyer=buyer).exclude(status=Order.Status.CANCELLED).exists()
    assert CartItem.objects.filter(user=buyer).count() == 3
    replay = _checkout(buyer_client, key="d1", card="pm_card_chargeDeclined")
    assert replay.status_code == 402 and replay["Idempotent-Replayed"] == "true"


def test_checkout_with_an_empty_cart_is_400(buyer_client):
    response = _checkout(buyer_client)
    assert response.status_code == 400
    assert error_of(response)["code"] == "cart_empty"


def test_checkout_requires_sign_in(api_client):
    assert _checkout(api_client).status_code == 401


def test_orders_list_and_detail_are_the_buyers_own(buyer_client, buyer, other_buyer):
    mine = OrderItemFactory(order=OrderFactory(buyer=buyer)).order
    theirs = OrderItemFactory(order=OrderFactory(buyer=other_buyer)).order
    body = buyer_client.get("/api/v1/orders").json()
    assert [o["id"] for o in body["results"]] == [mine.pk]
    assert buyer_client.get(f"/api/v1/orders/{mine.pk}").json()["items"][0]["quantity"] == 1
    response = buyer_client.get(f"/api/v1/orders/{theirs.pk}")
    assert response.status_code == 404
    assert error_of(response)["code"] == "order_not_found"


def test_orders_need_sign_in(api_client):
    assert api_client.get("/api/v1/orders").status_code == 401
    assert api_client.get("/api/v1/orders/1").status_code == 401


def test_orders_list_query_count_is_constant(buyer_client, buyer, django_assert_max_num_queries):
    for _ in range(5):
        OrderItemFactory(order=OrderFactory(buyer=buyer))
    with django_assert_max_num_queries(5):  # token, count, orders (+shop, checkout), items, refunds of the page
        body = buyer_client.get("/api/v1/orders").json()
    assert body["count"] == 5


def test_review_a_delivered_order_once(buyer_client, buyer):
    order = OrderFactory(buyer=buyer, status=Order.Status.DELIVERED)
    response = buyer_client.post(f"/api/v1/orders/{order.pk}/review", {"rating": 4, "comment": "Lovely"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["rating"] == 4
    order.shop.refresh_from_db()
    assert order.shop.rating == Decimal("4.0")
    again = buyer_client.post(f"/api/v1/orders/{order.pk}/review", {"rating": 5}, format="json")
    assert again.status_code == 409 and error_of(again)["code"] == "already_reviewed"
    assert buyer_client.get(f"/api/v1/orders/{order.pk}/review").json()["comment"] == "Lovely"


def test_review_rules(buyer_client, buyer):
    paid = OrderFactory(buyer=buyer, status=Order.Status.PAID)
    response = buyer_client.post(f"/api/v1/orders/{paid.pk}/review", {"rating": 5}, format="json")
    assert response.status_code == 409 and error_of(response)["code"] == "order_not_reviewable"
    response = buyer_client.post(f"/api/v1/orders/{paid.pk}/review", {"rating": 9}, format="json")
    assert response.status_code == 400 and "rating" in error_of(response)["fields"]
    assert not Review.objects.exists()


def test_buyer_cannot_review_or_read_another_buyers_review(buyer_client, other_buyer):
    theirs = OrderFactory(buyer=other_buyer, status=Order.Status.DELIVERED)
    response = buyer_client.post(f"/api/v1/orders/{theirs.pk}/review", {"rating": 1}, format="json")
    assert response.status_code == 404
    assert not Review.objects.exists()
    reviewed = ReviewFactory(order__buyer=other_buyer)
    assert buyer_client.get(f"/api/v1/orders/{reviewed.order_id}/review").status_code == 404
    reviewed.refresh_from_db()
    assert reviewed.rating == 5


def test_seller_sees_and_ships_only_their_shops_orders(seller_client, shop, buyer, django_capture_on_commit_callbacks):
    mine = OrderItemFactory(order=OrderFactory(shop=shop, buyer=buyer, status=Order.Status.PAID)).order
    theirs = OrderItemFactory(order=OrderFactory(status=Order.Status.PAID)).order
    body = seller_client.get("/api/v1/seller/orders").json()
    assert [o["id"] for o in body["results"]] == [mine.pk]
    assert body["results"][0]["buyer_name"] == buyer.public_name
    assert seller_client.get("/api/v1/seller/orders", {"status": "shipped"}).json()["count"] == 0
    assert seller_client.get(f"/api/v1/seller/orders/{theirs.pk}").status_code == 404

    response = seller_client.post(f"/api/v1/seller/orders/{theirs.pk}/ship", {"tracking_number": "X1"}, format="json")
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Order.Status.PAID and theirs.tracking_number == ""

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = seller_client.post(
            f"/api/v1/seller/orders/{mine.pk}/ship", {"tracking_number": "1Z999"}, format="json"
        )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "shipped" and response.json()["tracking_number"] == "1Z999"
    mine.refresh_from_db()
    assert mine.status == Order.Status.SHIPPED
    assert any(buyer.email in m.to for m in mail.outbox)


def test_shipping_an_unpaid_order_is_409(seller_client, shop):
    order = OrderFactory(shop=shop, status=Order.Status.PENDING_PAYMENT)
    response = seller_client.post(f"/api/v1/seller/orders/{order.pk}/ship", {"tracking_number": "1Z"}, format="json")
    assert response.status_code == 409
    assert error_of(response)["code"] == "invalid_order_transition"


def test_seller_orders_refuse_buyers(buyer_client, api_client):
    assert buyer_client.get("/api/v1/seller/orders").status_code == 403
    assert api_client.get("/api/v1/seller/orders").status_code == 401
    assert buyer_client.get("/api/v1/seller/orders", {"status": "lost"}).status_code == 403


def test_seller_cancels_own_unshipped_order_and_it_is_restocked(seller_client, shop, category):
    product = ProductFactory(shop=shop, category=category, quantity=0)
    order = OrderItemFactory(order=OrderFactory(shop=shop, status=Order.Status.PAID), product=product).order
    response = seller_client.post(f"/api/v1/seller/orders/{order.pk}/cancel")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled"
    product.refresh_from_db()
    assert product.quantity == 1
    assert seller_client.post(f"/api/v1/seller/orders/{order.pk}/cancel").status_code == 200  # idempotent
    product.refresh_from_db()
    assert product.quantity == 1


def test_seller_cannot_cancel_shipped_or_other_shops_orders(seller_client, shop):
    shipped = OrderFactory(shop=shop, status=Order.Status.SHIPPED)
    response = seller_client.post(f"/api/v1/seller/orders/{shipped.pk}/cancel")
    assert response.status_code == 409
    assert error_of(response)["code"] == "order_already_shipped"
    theirs = OrderFactory(status=Order.Status.PAID)
    assert seller_client.post(f"/api/v1/seller/orders/{theirs.pk}/cancel").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Order.Status.PAID


def test_seller_replies_to_reviews_of_their_shop_only(seller_client, shop):
    mine = ReviewFactory(order__shop=shop, shop=shop)
    theirs = ReviewFactory()
    response = seller_client.post(f"/api/v1/seller/reviews/{mine.pk}/reply", {"reply": "Thank you!"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["seller_reply"] == "Thank you!" and response.json()["replied_at"]
    response = seller_client.post(f"/api/v1/seller/reviews/{theirs.pk}/reply", {"reply": "Hijack"}, format="json")
    assert response.status_code == 404
    assert error_of(response)["code"] == "review_not_found"
    theirs.refresh_from_db()
    assert theirs.seller_reply == ""
