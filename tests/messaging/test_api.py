"""/api/v1/conversations: wiring, pagination, error format, 404 for strangers, 429 with Retry-After, schema."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from messaging import services
from messaging.models import Conversation, Message, MessageImage
from tests.messaging.factories import fake_png_upload, png_upload
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


@pytest.fixture
def thread(buyer, shop, product):
    return services.start_conversation(buyer=buyer, shop_id=shop.pk, body="Is it food safe?", product_id=product.pk)


def test_create_a_conversation_about_a_listing(buyer, shop, product):
    response = _client(buyer).post(
        "/api/v1/conversations", {"shop_id": shop.pk, "product_id": product.pk, "body": "Green?"}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["role"] == "buyer" and body["listing"]["id"] == product.pk and body["shop"]["id"] == shop.pk
    assert [m["body"] for m in body["messages"]] == ["Green?"]
    assert response["Cache-Control"] == "private, no-store"


def test_create_a_custom_request(buyer, shop):
    response = _client(buyer).post(
        "/api/v1/conversations",
        {"shop_id": shop.pk, "kind": "custom_request", "what": "A lamp", "budget": "$50", "by_when": "May"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["messages"][0]["details"] == {"what": "A lamp", "budget": "$50", "by_when": "May"}


@pytest.mark.parametrize("payload", [{"body": ""}, {"body": "x" * 2001}, {"body": 5}])
def test_bad_bodies_are_400_with_field_errors(buyer, shop, payload):
    response = _client(buyer).post("/api/v1/conversations", {"shop_id": shop.pk, **payload}, format="json")
    assert response.status_code == 400
    assert "body" in response.json()["error"]["fields"]
    assert not Conversation.objects.exists()


def test_messaging_your_own_shop_is_400(seller, shop):
    response = _client(seller).post("/api/v1/conversations", {"shop_id": shop.pk, "body": "me"}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "cannot_message"


def test_list_is_paginated_unread_first_for_both_sides(buyer, seller, shop, thread):
    other = services.start_conversation(buyer=buyer, shop_id=ShopFactory().pk, body="Another")
    services.send_message(user=seller, conversation_id=thread.pk, body="Yes")
    response = _client(buyer).get("/api/v1/conversations?page_size=1")
    body = response.json()
    assert response.status_code == 200 and body["count"] == 2 and body["next"]
    assert body["results"][0]["id"] == thread.pk and body["results"][0]["is_unread"] is True
    assert _client(buyer).get("/api/v1/conversations?page=2&page_size=1").json()["results"][0]["id"] == other.pk
    seller_view = _client(seller).get("/api/v1/conversations").json()
    assert [c["id"] for c in seller_view["results"]] == [thread.pk]
    assert seller_view["results"][0]["role"] == "seller"


def test_detail_send_and_read(buyer, seller, thread):
    reply = _client(seller).post(f"/api/v1/conversations/{thread.pk}/messages", {"body": "Yes"}, format="json")
    assert reply.status_code == 201 and reply.json()["side"] == "seller"
    detail = _client(buyer).get(f"/api/v1/conversations/{thread.pk}").json()
    assert detail["is_unread"] is True and [m["body"] for m in detail["messages"]] == ["Is it food safe?", "Yes"]
    read = _client(buyer).post(f"/api/v1/conversations/{thread.pk}/read")
    assert read.status_code == 200 and read.json()["is_unread"] is False


def test_pictures_by_multipart_and_a_bad_picture_stores_nothing(buyer, thread):
    url = f"/api/v1/conversations/{thread.pk}/messages"
    good = _client(buyer).post(url, {"body": "Look", "images": [png_upload()]}, format="multipart")
    assert good.status_code == 201 and len(good.json()["images"]) == 1
    bad = _client(buyer).post(url, {"body": "Evil", "images": [fake_png_upload()]}, format="multipart")
    assert bad.status_code == 400 and "images" in bad.json()["error"]["fields"]
    assert thread.messages.count() == 2 and MessageImage.objects.count() == 1


def test_strangers_get_404_in_the_error_format_and_nothing_changes(other_buyer, thread):
    client = _client(other_buyer)
    before = list(Conversation.objects.values()), list(Message.objects.values())
    for response in (
        client.get(f"/api/v1/conversations/{thread.pk}"),
        client.post(f"/api/v1/conversations/{thread.pk}/messages", {"body": "hi"}, format="json"),
        client.post(f"/api/v1/conversations/{thread.pk}/read"),
    ):
        assert response.status_code == 404 and response.json()["error"]["code"] == "conversation_not_found"
    assert (list(Conversation.objects.values()), list(Message.objects.values())) == before
    assert client.get("/api/v1/conversations").json()["count"] == 0


def test_anonymous_is_401(thread):
    assert APIClient().get("/api/v1/conversations").status_code == 401
    assert APIClient().get(f"/api/v1/conversations/{thread.pk}").status_code == 401


def test_over_the_limit_is_429_with_retry_after(settings, buyer, shop):
    type(buyer).objects.filter(pk=buyer.pk).update(created_at=timezone.now() - timedelta(days=3))
    settings.MESSAGING_CONVERSATIONS_PER_HOUR = 1
    client = _client(buyer)
    assert client.post("/api/v1/conversations", {"shop_id": shop.pk, "body": "one"}, format="json").status_code == 201
    other_shop = ShopFactory()
    response = client.post("/api/v1/conversations", {"shop_id": other_shop.pk, "body": "two"}, format="json")
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 3600
    assert response.json()["error"]["code"] == "throttled"
    assert response.json()["error"]["extra"]["retry_after"] == int(response["Retry-After"])


def test_the_schema_documents_the_conversation_endpoints(db):
    api_client = APIClient()
    schema = api_client.get("/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = schema["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/conversations"])
    assert "get" in paths["/api/v1/conversations/{conversation_id}"]
    assert "post" in paths["/api/v1/conversations/{conversation_id}/messages"]
    assert "post" in paths["/api/v1/conversations/{conversation_id}/read"]
    assert "429" in paths["/api/v1/conversations/{conversation_id}/messages"]["post"]["responses"]
