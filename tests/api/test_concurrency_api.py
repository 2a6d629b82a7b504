"""Races through the API: real threads released together, each with its own connection."""

import threading
from decimal import Decimal

import pytest
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from cart import services as cart_services
from cart.models import CartItem
from etsy.breakers import reset_all
from orders.models import Checkout, Order
from tests.accounts.factories import UserFactory
from tests.catalog.factories import ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)

ADDRESS = {"name": "Ada Buyer", "line1": "1 Market Street", "city": "Hudson", "postcode": "12534", "country": "US"}


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def _race(calls):
    """Run the callables at the same moment; return their results in order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait()
            results[i] = call()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_two_buyers_adding_the_same_unique_item_get_one_hold(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "10000/min", "user": "10000/min", "auth": "10000/min"},
    }
    for _ in range(5):
        product = ProductFactory(quantity=1)
        clients = [_client(UserFactory()) for _ in range(2)]
        responses = _race(
            [lambda c=c: c.post("/api/v1/cart/items", {"product_id": product.pk}, format="json") for c in clients]
        )
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [201, 409], statuses
        loser = next(r for r in responses if r.status_code == 409)
        assert loser.json()["error"]["code"] == "item_reserved"
        assert loser.json()["error"]["extra"]["reserved_until"]
        assert CartItem.objects.filter(product=product).count() == 1


def test_the_same_checkout_sent_twice_at_once_places_one_order_set(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "10000/min", "user": "10000/min", "auth": "10000/min"},
    }
    reset_all()
    for attempt in range(3):
        buyer = UserFactory()
        for _ in range(2):
            cart_services.add_item(user=buyer, product_id=ProductFactory(quantity=2, price=Decimal("9.00")).pk)
        clients = [_client(buyer), _client(buyer)]
        responses = _race(
            [
                lambda c=c: c.post(
                    "/api/v1/checkout",
                    {"address": ADDRESS, "payment_method": "pm_card_visa"},
                    format="json",
                    HTTP_IDEMPOTENCY_KEY=f"double-submit-{attempt}",
                )
                for c in clients
            ]
        )
        statuses = sorted(r.status_code for r in responses)
        assert statuses in ([201, 201], [201, 409]), statuses
        for response in responses:
            if response.status_code == 409:
                assert response.json()["error"]["code"] == "request_in_progress"
        assert Checkout.objects.filter(buyer=buyer).count() == 1
        assert Order.objects.filter(buyer=buyer).count() == 2
        created = [r for r in responses if r.status_code == 201]
        if len(created) == 2:  # the second was a replay of the first, byte for byte
            assert created[0].content == created[1].content
    reset_all()
