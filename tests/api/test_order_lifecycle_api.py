"""The order lifecycle in the API: received, cancellation request and decision, review edits, estimated delivery."""

import datetime
import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import CancellationRequest, Order, Review
from tests.api.conftest import error_of
from tests.orders.factories import OrderFactory, OrderItemFactory

pytestmark = pytest.mark.django_db


def test_orders_show_the_estimated_delivery_to_buyer_and_seller(buyer_client, seller_client, buyer, shop):
    order = OrderFactory(buyer=buyer, shop=shop, estimated_delivery=datetime.date(2026, 12, 11))
    OrderItemFactory(order=order)
    mine = buyer_client.get(f"/api/v1/orders/{order.pk}").json()
    assert mine["estimated_delivery"] == "2026-12-11"
    assert mine["cancellation_request"] is None and mine["review_window"] is None
    assert buyer_client.get("/api/v1/orders").json()["results"][0]["estimated_delivery"] == "2026-12-11"
    assert seller_client.get(f"/api/v1/seller/orders/{order.pk}").json()["estimated_delivery"] == "2026-12-11"
    assert seller_client.get("/api/v1/seller/orders").json()["results"][0]["estimated_delivery"] == "2026-12-11"


def test_openapi_schema_documents_the_new_fields_and_endpoints(api_client):
    schema = api_client.get("/api/v1/schema", HTTP_ACCEPT="application/json")
    if schema.status_code != 200:
        schema = api_client.get("/api/v1/schema/?format=json")
    text = schema.content.decode()
    for needle in (
        "estimated_delivery",
        "/api/v1/orders/{order_id}/received",
        "/api/v1/orders/{order_id}/cancellation",
        "/api/v1/seller/orders/{order_id}/cancellation",
        "review_window_closed",
        "order_not_shipped",
    ):
        assert needle in text, needle


def test_buyer_confirms_receipt_idempotently_and_wrong_states_are_409(buyer_client, buyer, other_buyer_client):
    shipped = OrderFactory(buyer=buyer, status=Order.Status.SHIPPED, tracking_number="1Z1")
    for _ in range(2):
        response = buyer_client.post(f"/api/v1/orders/{shipped.pk}/received")
        assert response.status_code == 200, response.content
        assert response.json()["status"] == "delivered" and response.json()["delivered_via"] == "buyer"
        assert response.json()["review_window"]["is_open"] is True
    paid = OrderFactory(buyer=buyer, status=Order.Status.PAID)
    response = buyer_client.post(f"/api/v1/orders/{paid.pk}/received")
    assert response.status_code == 409 and error_of(response)["code"] == "order_not_shipped"
    assert other_buyer_client.post(f"/api/v1/orders/{shipped.pk}/received").status_code == 404
    paid.refresh_from_db()
    assert paid.status == "paid"


def test_cancellation_request_and_seller_decision(buyer_client, seller_client, buyer, shop):
    order = OrderFactory(buyer=buyer, shop=shop, status=Order.Status.PAID)
    OrderItemFactory(order=order)
    url = f"/api/v1/orders/{order.pk}/cancellation"
    assert buyer_client.post(url, {"reason": ""}, format="json").status_code == 400
    response = buyer_client.post(url, {"reason": "Wrong size"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["cancellation_request"]["status"] == "pending"
    again = buyer_client.post(url, {"reason": "Wrong size"}, format="json")
    assert again.status_code == 409 and error_of(again)["code"] == "cancellation_already_requested"

    ship = seller_client.post(f"/api/v1/seller/orders/{order.pk}/ship", {"tracking_number": "1Z2"}, format="json")
    assert ship.status_code == 409 and error_of(ship)["code"] == "cancellation_pending"

    decide = f"/api/v1/seller/orders/{order.pk}/cancellation"
    assert seller_client.post(decide, {"decision": "maybe"}, format="json").status_code == 400
    response = seller_client.post(decide, {"decision": "accept"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled"
    assert response.json()["cancellation_request"]["status"] == "accepted"
    assert seller_client.post(decide, {"decision": "accept"}, format="json").status_code == 200
    other = seller_client.post(decide, {"decision": "decline"}, format="json")
    assert other.status_code == 409 and error_of(other)["code"] == "cancellation_already_decided"


def test_cancellation_refused_after_shipping_and_for_others(buyer_client, other_buyer_client, seller_client, buyer):
    shipped = OrderFactory(buyer=buyer, status=Order.Status.SHIPPED)
    response = buyer_client.post(f"/api/v1/orders/{shipped.pk}/cancellation", {"reason": "Late"}, format="json")
    assert response.status_code == 409 and error_of(response)["code"] == "order_already_shipped"
    paid = OrderFactory(buyer=buyer, status=Order.Status.PAID)
    theirs = other_buyer_client.post(f"/api/v1/orders/{paid.pk}/cancellation", {"reason": "x"}, format="json")
    assert theirs.status_code == 404
    not_mine = seller_client.post(
        f"/api/v1/seller/orders/{paid.pk}/cancellation", {"decision": "accept"}, format="json"
    )
    assert not_mine.status_code == 404
    assert not CancellationRequest.objects.exists()


def test_seller_decision_without_request_is_409(seller_client, shop):
    order = OrderFactory(shop=shop, status=Order.Status.PAID)
    response = seller_client.post(
        f"/api/v1/seller/orders/{order.pk}/cancellation", {"decision": "decline"}, format="json"
    )
    assert response.status_code == 409 and error_of(response)["code"] == "no_cancellation_request"


def test_review_edit_inside_the_window_and_409_after(buyer_client, buyer):
    order = OrderFactory(buyer=buyer, status=Order.Status.DELIVERED)
    url = f"/api/v1/orders/{order.pk}/review"
    missing = buyer_client.put(url, {"rating": 3}, format="json")
    assert missing.status_code == 404 and error_of(missing)["code"] == "review_not_found"
    assert buyer_client.post(url, {"rating": 2, "comment": "Meh"}, format="json").status_code == 201
    edited = buyer_client.put(url, {"rating": 5, "comment": "Better after all"}, format="json")
    assert edited.status_code == 200 and edited.json()["rating"] == 5 and edited.json()["edited_at"]
    Order.objects.filter(pk=order.pk).update(delivered_at=timezone.now() - timedelta(days=101))
    closed = buyer_client.put(url, {"rating": 1}, format="json")
    assert closed.status_code == 409 and error_of(closed)["code"] == "review_window_closed"
    assert Review.objects.get().rating == 5


def _signed(body: dict, secret: str) -> tuple[bytes, str]:
    raw = json.dumps(body).encode()
    return raw, "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def test_tracking_webhook_checks_the_signature_and_delivers(client, settings, buyer):
    settings.TRACKING_WEBHOOK_SECRET = "trk_secret"
    order = OrderFactory(buyer=buyer, status=Order.Status.SHIPPED, tracking_number="1Z999AA10123456784")
    raw, signature = _signed(
        {"carrier": "UPS", "tracking_number": "1z999aa10123456784", "status": "delivered"}, "trk_secret"
    )

    bad = client.post("/webhooks/tracking", raw, content_type="application/json", HTTP_X_TRACKING_SIGNATURE="sha256=00")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_signature"
    _, forged = _signed({"carrier": "UPS"}, "another_secret")
    assert (
        client.post(
            "/webhooks/tracking", raw, content_type="application/json", HTTP_X_TRACKING_SIGNATURE=forged
        ).status_code
        == 400
    )
    order.refresh_from_db()
    assert order.status == "shipped"

    ok = client.post("/webhooks/tracking", raw, content_type="application/json", HTTP_X_TRACKING_SIGNATURE=signature)
    assert ok.status_code == 200 and ok.json()["outcome"] == "delivered"
    order.refresh_from_db()
    assert order.status == "delivered" and order.delivered_via == "carrier"

    raw, signature = _signed({"carrier": "UPS", "tracking_number": "NOPE123", "status": "delivered"}, "trk_secret")
    unknown = client.post(
        "/webhooks/tracking", raw, content_type="application/json", HTTP_X_TRACKING_SIGNATURE=signature
    )
    assert unknown.status_code == 202 and unknown.json()["outcome"] == "unknown_tracking"

    raw, signature = _signed({"carrier": "UPS", "tracking_number": "1Z1", "status": "teleported"}, "trk_secret")
    invalid = client.post(
        "/webhooks/tracking", raw, content_type="application/json", HTTP_X_TRACKING_SIGNATURE=signature
    )
    assert invalid.status_code == 400 and invalid.json()["error"]["code"] == "invalid_payload"
    assert client.get("/webhooks/tracking").status_code == 405


def test_tracking_webhook_without_a_secret_refuses_everything(client, settings):
    settings.TRACKING_WEBHOOK_SECRET = ""
    raw, signature = _signed({"carrier": "UPS", "tracking_number": "1Z1", "status": "delivered"}, "")
    response = client.post(
        "/webhooks/tracking", raw, content_type="application/json", HTTP_X_TRACKING_SIGNATURE=signature
    )
    assert response.status_code == 503
