"""Search through the API: the selector's result shape, facets, suggestion, degraded flag, errors."""

from decimal import Decimal

import pytest

from search.backends.postgres import refresh_vocabulary
from tests.api.conftest import error_of
from tests.catalog.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def wallets(shop):
    leather = CategoryFactory(name="Leather goods", slug="leather-goods")
    made = [
        ProductFactory(
            shop=shop,
            category=leather,
            title="Handmade leather wallet",
            tags=["leather", "wallet"],
            price=Decimal("45.00"),
        ),
        ProductFactory(
            shop=shop,
            category=leather,
            title="Vintage leather wallet",
            tags=["leather"],
            price=Decimal("120.00"),
            is_vintage=True,
        ),
        ProductFactory(shop=shop, category=CategoryFactory(), title="Ceramic mug", tags=["mug"]),
    ]
    refresh_vocabulary()
    return made


def test_search_returns_hits_total_facets_and_flags(api_client, wallets):
    response = api_client.get("/api/v1/search", {"q": "leather wallet"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["total"] == 2
    assert {h["id"] for h in body["hits"]} == {wallets[0].pk, wallets[1].pk}
    assert body["hits"][0]["price"] in ("45.00", "120.00")
    assert body["degraded"] is False
    assert body["page"] == 1 and body["pages"] == 1
    assert {"slug": "leather-goods", "name": "Leather goods", "count": 2} in body["facets"]["categories"]
    ranges = {r["key"]: r for r in body["facets"]["price_ranges"]}
    assert ranges["25-50"]["count"] == 1 and ranges["100-plus"]["count"] == 1
    assert ranges["100-plus"]["max"] is None and ranges["25-50"]["min"] == "25.00"


def test_search_filters_and_sort(api_client, wallets):
    body = api_client.get("/api/v1/search", {"q": "wallet", "vintage": "true"}).json()
    assert [h["id"] for h in body["hits"]] == [wallets[1].pk]
    body = api_client.get("/api/v1/search", {"q": "wallet", "sort": "price_desc"}).json()
    assert [h["id"] for h in body["hits"]] == [wallets[1].pk, wallets[0].pk]
    body = api_client.get("/api/v1/search", {"category": "leather-goods", "price_max": "50"}).json()
    assert [h["id"] for h in body["hits"]] == [wallets[0].pk]


def test_search_suggests_spelling(api_client, wallets):
    body = api_client.get("/api/v1/search", {"q": "lether walet"}).json()
    assert body["suggestion"]


def test_search_rejects_bad_parameters(api_client):
    response = api_client.get("/api/v1/search", {"sort": "cheapest", "page": "0", "price_min": "x"})
    assert response.status_code == 400
    assert set(error_of(response)["fields"]) == {"sort", "page", "price_min"}
    # a rule of the selector, not of the serializer
    response = api_client.get("/api/v1/search", {"price_min": "50", "price_max": "10"})
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_search"
    response = api_client.get("/api/v1/search", {"category": "no-such"})
    assert response.status_code == 404
    assert error_of(response)["code"] == "category_not_found"


def test_search_reports_degraded_when_elasticsearch_is_down(api_client, wallets, settings):
    # Elasticsearch is "configured" but nothing listens there: PostgreSQL answers, flagged degraded.
    settings.ELASTICSEARCH_URL = "http://127.0.0.1:9200"
    response = api_client.get("/api/v1/search", {"q": "wallet"})
    assert response.status_code == 200
    body = response.json()
    assert body["degraded"] is True
    assert body["total"] == 2
