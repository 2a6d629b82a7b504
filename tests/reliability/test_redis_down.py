"""Redis down: pages and search answer from PostgreSQL; checkout refuses with a clear 503 (no double order).

The project's choice (etsy/idempotency.py): idempotency records live in Redis ("strict" cache
alias, errors never swallowed). Without Redis a checkout cannot be proved unique, so it is
refused with 503 ``idempotency_unavailable`` before any row is written; everything else
(browsing, search, product pages, cart holds, sessions) keeps working from the database.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from cart import services as cart_services
from cart.models import CartItem
from catalog.models import Product
from etsy.outbox.models import OutboxMessage
from orders.models import Checkout, Order
from tests.catalog.factories import ProductFactory

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

ADDRESS = {
    "name": "Ada Buyer",
    "line1": "1 Market Street",
    "line2": "",
    "city": "Hudson",
    "postcode": "12534",
    "country": "US",
}
CARD = "pm_card_visa"


def _pages(product) -> list[str]:
    return [
        "/",
        f"/c/{product.category.slug}/",
        product.get_absolute_url(),
        f"/shops/{product.shop.slug}/",
        "/search/?q=" + product.title.split()[0],
        "/search/?q=zzzz+nothing+matches",
        "/api/v1/products",
        f"/api/v1/products/{product.pk}",
        "/api/v1/search?q=" + product.title.split()[0],
        "/api/v1/categories",
    ]


def test_browsing_search_and_product_pages_answer_from_the_database_while_redis_is_down(
    caches_on_local_redis, client, buyer, product
):
    redis = caches_on_local_redis
    urls = _pages(product)
    for url in urls:  # warm the caches while Redis is up
        assert client.get(url).status_code == 200, url
    redis.stop()
    client.force_login(buyer)  # sessions are cached_db: the database is their source of truth
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    assert product.title.encode() in client.get(product.get_absolute_url()).content
    search = client.get("/api/v1/search?q=" + product.title.split()[0]).json()
    assert product.pk in [hit["id"] for hit in search["hits"]]
    redis.start()
    for url in urls:
        assert client.get(url).status_code == 200, url


def test_cart_keeps_working_without_redis(caches_on_local_redis, client, buyer, product):
    caches_on_local_redis.stop()
    client.force_login(buyer)
    response = client.post(f"/cart/add/{product.pk}/", {"quantity": 1})
    assert response.status_code in (302, 303)
    assert CartItem.objects.filter(user=buyer, product=product).exists()
    assert client.get("/cart/").status_code == 200


def test_checkout_refuses_with_503_while_redis_is_down_and_succeeds_after_it_returns(
    caches_on_local_redis, buyer, shop, category
):
    redis = caches_on_local_redis
    product = ProductFactory(shop=shop, category=category, price=Decimal("20.00"), quantity=3)
    cart_services.add_item(user=buyer, product_id=product.pk, quantity=2)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=buyer).key}")
    body = {"address": ADDRESS, "payment_method": CARD}

    redis.stop()
    for _attempt in range(2):  # a client retrying during the outage never gets a half order
        refused = api.post("/api/v1/checkout", body, format="json", HTTP_IDEMPOTENCY_KEY="redis-down-1")
        assert refused.status_code == 503, refused.content
        assert refused.json()["error"]["code"] == "idempotency_unavailable"
    assert Checkout.objects.count() == 0 and Order.objects.count() == 0 and OutboxMessage.objects.count() == 0
    assert Product.objects.get(pk=product.pk).quantity == 3
    assert CartItem.objects.get(user=buyer, product=product).quantity == 2  # the cart is kept for the retry

    redis.start()
    placed = api.post("/api/v1/checkout", body, format="json", HTTP_IDEMPOTENCY_KEY="redis-down-1")
    assert placed.status_code == 201, placed.content
    replay = api.post("/api/v1/checkout", body, format="json", HTTP_IDEMPOTENCY_KEY="redis-down-1")
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert Order.objects.filter(buyer=buyer).count() == 1
    assert Product.objects.get(pk=product.pk).quantity == 1


def test_html_checkout_shows_a_clear_503_while_redis_is_down(caches_on_local_redis, client, buyer, product):
    cart_services.add_item(user=buyer, product_id=product.pk, quantity=1)
    client.force_login(buyer)
    caches_on_local_redis.stop()
    form = {f"ship_{k}": v for k, v in ADDRESS.items()} | {"payment_method": CARD, "token": "html-redis-down"}
    response = client.post("/orders/checkout/", form)
    assert response.status_code == 503
    assert b"Nothing was charged" in response.content
    assert Order.objects.count() == 0
