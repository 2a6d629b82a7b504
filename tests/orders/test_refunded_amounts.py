"""What the buyer has had back, shown on the order history page and in the order API, read once per page."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from payments.services.refunds import refund_order
from tests.api.conftest import api_client, buyer_client, client_for  # noqa: F401
from tests.cases.conftest import buy

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery"


def _count(get) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert get().status_code == 200
    return len(queries)


def test_the_order_api_says_what_was_refunded_to_the_cent(buyer, shop, buyer_client):  # noqa: F811
    refunded, untouched = buy(buyer, shop, price="36.89"), buy(buyer, shop, price="12.00")
    refund_order(order=refunded, amount=Decimal("10.01"))
    refund_order(order=refunded, amount=Decimal("0.99"))
    listed = {row["id"]: row["refunded_amount"] for row in buyer_client.get("/api/v1/orders").json()["results"]}
    assert listed == {refunded.pk: "11.00", untouched.pk: "0.00"}
    assert buyer_client.get(f"/api/v1/orders/{refunded.pk}").json()["refunded_amount"] == "11.00"


def test_the_order_list_reads_refunds_once_per_page(buyer, shop, buyer_client):  # noqa: F811
    first = buy(buyer, shop)
    refund_order(order=first, amount=Decimal("1.00"))
    buyer_client.get("/api/v1/orders")
    few = _count(lambda: buyer_client.get("/api/v1/orders"))
    for _ in range(3):
        refund_order(order=buy(buyer, shop), amount=Decimal("2.00"))
    assert _count(lambda: buyer_client.get("/api/v1/orders")) <= few


def test_the_history_page_shows_the_refunded_amount(buyer, shop):
    order = buy(buyer, shop, price="36.89")
    client = Client()
    assert client.login(email=buyer.email, password=PASSWORD)
    assert "refunded" not in client.get("/orders/").content.decode()
    refund_order(order=order, amount=Decimal("5.50"))
    assert "($5.50 refunded)" in client.get("/orders/").content.decode()
