"""The checkout's answer is built by hand (CheckoutResultSerializer.to_representation): it stays what the serializer's
own fields (the OpenAPI schema's description) make of the same checkout, to the byte."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from cart import services as cart_services
from catalog.models import Offering, Personalization
from orders import payments, selectors
from orders.api.serializers import CheckoutResultSerializer
from orders.models import CancellationRequest, Order
from orders.services.checkout import CheckoutResult, ShippingAddress, place_order
from payments.services.payouts import pay_sellers_for_checkout
from payments.services.refunds import refund_order
from shops.models import Shop
from tests.catalog.factories import ProductFactory, add_variations, set_offering_stock
from tests.orders.conftest import address, three_shop_cart  # noqa: F401
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db

ADDRESS = {"name": "Ada Buyer", "line1": "1 Market Street", "line2": "Apt 2", "city": "Hudson", "postcode": "12534"}


def _by_fields(result: CheckoutResult) -> dict:
    """What DRF's field machinery makes of the result (the answer before it was built by hand)."""
    return serializers.Serializer.to_representation(CheckoutResultSerializer(result), result)


def _json(data) -> dict:
    return json.loads(JSONRenderer().render(data))


def _assert_same_answer(result: CheckoutResult) -> dict:
    serializer = CheckoutResultSerializer(result)
    by_hand, by_fields = serializer.data, _by_fields(result)
    assert "fields" not in serializer.__dict__  # the answer did not build the serializer's fields
    assert JSONRenderer().render(by_hand) == JSONRenderer().render(by_fields)
    assert _json(by_hand) == _json(by_fields)
    return _json(by_hand)


def _place(buyer, key="answer"):
    return place_order(
        buyer=buyer,
        address=ShippingAddress(**ADDRESS),
        payment_method=payments.PM_SUCCEEDS,
        idempotency_key=key,
    )


def test_one_shop_checkout_answers_as_the_serializer_fields_do(buyer):
    cart_services.add_item(user=buyer, product_id=ProductFactory(price=Decimal("12.35"), quantity=5).pk, quantity=2)
    answer = _assert_same_answer(_place(buyer))
    assert [item["line_total"] for item in answer["orders"][0]["items"]] == ["24.70"]


def test_three_shop_checkout_answers_as_the_serializer_fields_do(buyer, three_shop_cart):  # noqa: F811
    Shop.objects.filter(pk=three_shop_cart[0].shop_id).update(rating=Decimal("4.6"), review_count=7)
    Shop.objects.filter(pk=three_shop_cart[2].shop_id).update(rating=None, review_count=0)  # not rated yet
    answer = _assert_same_answer(_place(buyer))
    assert len(answer["orders"]) == 3
    assert {order["shop"]["rating"] for order in answer["orders"]} == {"4.6", "4.5", None}


def test_variations_and_personalisation_answer_as_the_serializer_fields_do(buyer):
    ring = ProductFactory(
        shop=ShopFactory(),
        price=Decimal("40.00"),
        personalization=Personalization.OPTIONAL,
        personalization_max_length=12,
    )
    offerings = add_variations(ring, {"Size": ["6", "7"], "Metal": ["Silver", "Gold"]}, quantity=4)
    gold = offerings[("7", "Gold")]
    set_offering_stock(gold, price="55.55")
    Offering.objects.filter(pk=gold.pk).update(sku="RING-7-AU")
    cart_services.add_item(user=buyer, offering_id=gold.pk, quantity=2, personalization="J.S.")
    cart_services.add_item(user=buyer, offering_id=offerings[("6", "Silver")].pk)
    answer = _assert_same_answer(_place(buyer))
    items = answer["orders"][0]["items"]
    assert {(i["options"], i["sku"], i["personalization"]) for i in items} >= {
        ("Size: 7, Metal: Gold", "RING-7-AU", "J.S.")
    }


def test_later_states_of_the_orders_answer_as_the_serializer_fields_do(buyer, three_shop_cart):  # noqa: F811
    """Shipped (a review window), a cancellation request, a refund and a deleted listing: what a retry may show."""
    result = _place(buyer)
    shipped, asked, refunded = result.orders
    now = timezone.now()
    Order.objects.filter(pk=shipped.pk).update(
        status=Order.Status.SHIPPED, shipped_at=now, tracking_number="1Z999", estimated_delivery=now.date()
    )
    CancellationRequest.objects.create(
        order=asked,
        reason="Changed my mind",
        status=CancellationRequest.Status.DECLINED,
        decided_at=now + timedelta(hours=1),
    )
    pay_sellers_for_checkout(checkout_id=result.checkout.pk)  # the sales booked, as the worker does
    refund_order(order=Order.objects.get(pk=refunded.pk), amount=Decimal("10.01"))
    three_shop_cart[2].delete()
    again = CheckoutResult(
        checkout=result.checkout,
        orders=selectors.list_orders_of_checkout(checkout_id=result.checkout.pk),
        payment_status="unknown",
        client_secret="pi_secret_x",
    )
    answer = _assert_same_answer(again)
    orders = {order["id"]: order for order in answer["orders"]}
    assert orders[shipped.pk]["review_window"] is not None
    assert orders[asked.pk]["cancellation_request"]["reason"] == "Changed my mind"
    assert orders[refunded.pk]["refunded_amount"] == "10.01"


def test_a_replayed_checkout_answers_what_the_serializer_fields_make_of_it(buyer, client_for, three_shop_cart):  # noqa: F811
    client = client_for(buyer)
    body = {"address": ADDRESS, "payment_method": payments.PM_SUCCEEDS}
    first = client.post("/api/v1/checkout", body, format="json", HTTP_IDEMPOTENCY_KEY="answer-1")
    replay = client.post("/api/v1/checkout", body, format="json", HTTP_IDEMPOTENCY_KEY="answer-1")
    assert first.status_code == replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    orders = selectors.list_orders_of_checkout(checkout_id=first.json()["checkout_id"])
    secret = first.json()["client_secret"]  # the provider's, as it answered
    result = CheckoutResult(checkout=orders[0].checkout, orders=orders, payment_status="paid", client_secret=secret)
    expected = _json(_by_fields(result))
    assert first.json() == replay.json() == expected
