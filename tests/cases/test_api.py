"""The cases API: wiring, permissions and error mapping (JSON errors always)."""

import datetime

import pytest
from django.utils import timezone

from cases import services
from cases.models import Case
from orders.models import Order
from tests.api.conftest import error_of
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db
BODY = {"kind": "not_received", "description": "Nothing came after two weeks."}


def test_buyer_opens_a_case_and_reads_it(buyer_client, past_estimate):
    response = buyer_client.post(f"/api/v1/orders/{past_estimate.pk}/case", BODY, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["kind"], body["order_id"], body["refund_amount"]) == (
        "open",
        "not_received",
        past_estimate.pk,
        "0.00",
    )
    assert [e["kind"] for e in body["events"]] == ["opened"]
    assert buyer_client.get(f"/api/v1/orders/{past_estimate.pk}/case").json()["id"] == body["id"]
    assert buyer_client.get(f"/api/v1/cases/{body['id']}").status_code == 200
    assert [c["id"] for c in buyer_client.get("/api/v1/cases").json()["results"]] == [body["id"]]


def test_opening_before_the_estimate_is_409_case_too_early(buyer_client, shipped_order):
    response = buyer_client.post(f"/api/v1/orders/{shipped_order.pk}/case", BODY, format="json")
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "case_too_early"
    assert error["extra"]["estimated_delivery"] == Order.objects.get(pk=shipped_order.pk).estimated_delivery.isoformat()
    assert not Case.objects.exists()


def test_a_second_case_is_409_case_open(buyer_client, past_estimate):
    first = buyer_client.post(f"/api/v1/orders/{past_estimate.pk}/case", BODY, format="json").json()
    response = buyer_client.post(f"/api/v1/orders/{past_estimate.pk}/case", BODY, format="json")
    assert response.status_code == 409
    assert error_of(response)["code"] == "case_open" and error_of(response)["extra"] == {"case_id": first["id"]}


def test_another_buyers_order_and_case_are_404(buyer_client, other_buyer_client, past_estimate):
    assert other_buyer_client.post(f"/api/v1/orders/{past_estimate.pk}/case", BODY, format="json").status_code == 404
    case_id = buyer_client.post(f"/api/v1/orders/{past_estimate.pk}/case", BODY, format="json").json()["id"]
    for path in (f"/api/v1/cases/{case_id}", f"/api/v1/orders/{past_estimate.pk}/case"):
        response = other_buyer_client.get(path)
        assert response.status_code == 404 and error_of(response)
    response = other_buyer_client.post(f"/api/v1/cases/{case_id}/close", {}, format="json")
    assert response.status_code == 404 and error_of(response)["code"] == "case_not_found"


def test_a_cancelled_order_is_409(buyer_client, past_estimate):
    Order.objects.filter(pk=past_estimate.pk).update(status="cancelled")
    response = buyer_client.post(f"/api/v1/orders/{past_estimate.pk}/case", BODY, format="json")
    assert response.status_code == 409 and error_of(response)["code"] == "order_cancelled"


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "lost", "description": "x"},
        {"kind": "not_received"},
        {"kind": "not_received", "description": "   "},
        {"kind": "not_received", "description": 5},
        {"kind": "not_received", "description": "x" * 2001},
    ],
)
def test_bad_input_is_400_and_changes_nothing(buyer_client, past_estimate, body):
    response = buyer_client.post(f"/api/v1/orders/{past_estimate.pk}/case", body, format="json")
    assert response.status_code == 400 and error_of(response)
    assert not Case.objects.exists()


def test_anonymous_is_401(api_client, past_estimate):
    response = api_client.post(f"/api/v1/orders/{past_estimate.pk}/case", BODY, format="json")
    assert response.status_code == 401 and error_of(response)


def test_buyer_messages_escalates_after_the_deadline_and_closes(buyer, buyer_client, past_estimate):
    case_id = buyer_client.post(f"/api/v1/orders/{past_estimate.pk}/case", BODY, format="json").json()["id"]
    assert (
        buyer_client.post(f"/api/v1/cases/{case_id}/messages", {"body": "Any news?"}, format="json").status_code == 201
    )
    early = buyer_client.post(f"/api/v1/cases/{case_id}/escalate", {}, format="json")
    assert early.status_code == 409 and error_of(early)["code"] == "case_deadline_not_passed"
    Case.objects.filter(pk=case_id).update(seller_deadline=timezone.now() - datetime.timedelta(minutes=1))
    escalated = buyer_client.post(f"/api/v1/cases/{case_id}/escalate", {"note": "Still nothing."}, format="json")
    assert escalated.status_code == 200 and escalated.json()["status"] == "escalated"
    closed = buyer_client.post(f"/api/v1/cases/{case_id}/close", {}, format="json")
    assert closed.status_code == 200 and closed.json()["status"] == "closed_by_buyer"
    again = buyer_client.post(f"/api/v1/cases/{case_id}/messages", {"body": "One more"}, format="json")
    assert again.status_code == 409 and error_of(again)["code"] == "case_closed"


def test_seller_sees_only_their_shops_cases_and_answers_and_refunds(buyer, seller_client, client_for, past_estimate):
    case = services.open_case(buyer=buyer, order_id=past_estimate.pk, kind="not_received", description="Lost.")
    other_owner = ShopFactory().owner
    other_seller = client_for(other_owner)
    assert other_seller.get("/api/v1/seller/cases").json()["results"] == []
    assert other_seller.get(f"/api/v1/seller/cases/{case.pk}").status_code == 404
    assert other_seller.post(f"/api/v1/seller/cases/{case.pk}/refund", {}, format="json").status_code == 404
    assert [c["id"] for c in seller_client.get("/api/v1/seller/cases?status=open").json()["results"]] == [case.pk]
    answered = seller_client.post(f"/api/v1/seller/cases/{case.pk}/messages", {"body": "Checking."}, format="json")
    assert answered.status_code == 201 and answered.json()["status"] == "seller_responded"
    too_much = seller_client.post(f"/api/v1/seller/cases/{case.pk}/refund", {"amount": "9999.00"}, format="json")
    assert too_much.status_code == 400 and error_of(too_much)["code"] == "refund_too_large"
    refunded = seller_client.post(f"/api/v1/seller/cases/{case.pk}/refund", {"amount": "4.50"}, format="json")
    assert refunded.status_code == 200, refunded.content
    assert (refunded.json()["status"], refunded.json()["refund_amount"]) == ("seller_responded", "4.50")
    again = seller_client.post(f"/api/v1/seller/cases/{case.pk}/refund", {}, format="json")
    assert again.status_code == 409 and error_of(again)["code"] == "case_already_refunded"


def test_a_buyer_without_a_shop_cannot_use_the_seller_endpoints(buyer_client):
    response = buyer_client.get("/api/v1/seller/cases")
    assert response.status_code == 403 and error_of(response)


def test_reviewing_while_a_case_is_open_is_409_case_open(buyer, buyer_client, past_estimate):
    services.open_case(buyer=buyer, order_id=past_estimate.pk, kind="not_received", description="Late.")
    Order.objects.filter(pk=past_estimate.pk).update(status="delivered")
    response = buyer_client.post(f"/api/v1/orders/{past_estimate.pk}/review", {"rating": 5}, format="json")
    assert response.status_code == 409 and error_of(response)["code"] == "case_open"
