"""The option filters and facets on the search page and in the search API (wiring): parameters, facets, chips,
errors, and the API's answers checked against its own OpenAPI schema."""

import copy
import re

import jsonschema
import pytest
from django.test import Client

from tests.search.test_variations import add_variations, set_offering

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def live_schema(django_db_blocker):
    with django_db_blocker.unblock():
        return Client().get("/api/v1/schema?format=json").json()


def _as_json_schema(node):
    """OpenAPI 3.0's ``nullable`` as JSON Schema (a null type beside the declared one)."""
    if isinstance(node, dict):
        node = {key: _as_json_schema(value) for key, value in node.items()}
        if node.pop("nullable", False):
            node = {"anyOf": [node, {"type": "null"}]}
        return node
    if isinstance(node, list):
        return [_as_json_schema(value) for value in node]
    return node


def assert_matches_response_schema(schema, path, body, status="200"):
    content = schema["paths"][path]["get"]["responses"][status]["content"]["application/json"]["schema"]
    document = {**_as_json_schema(copy.deepcopy(content)), "components": _as_json_schema(schema["components"])}
    jsonschema.validate(body, document)


@pytest.fixture
def sweaters(make_listing):
    wool = make_listing("Wool sweater", price="80.00")
    add_variations(wool, {"Size": ["S", "M"], "Colour": ["Green", "Navy"]}, prices={("M", "Navy"): "95.00"})
    cotton = make_listing("Cotton sweater", price="45.00")
    offerings = add_variations(cotton, {"Size": ["M", "L"], "Colour": ["Green"]})
    set_offering(offerings[("M", "Green")], quantity=0)
    return wool, cotton


def test_schema_documents_the_option_parameters_and_facets(live_schema):
    operation = live_schema["paths"]["/api/v1/search"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}

    for name in ("colour", "size", "material"):
        assert parameters[name]["in"] == "query" and parameters[name]["schema"]["maxLength"] == 40
    facets = live_schema["components"]["schemas"]["Facets"]["properties"]
    assert "options" in facets


def test_api_filters_by_options_and_answers_facets_matching_its_schema(live_schema, sweaters):
    client = Client()
    response = client.get("/api/v1/search", {"q": "sweater", "size": "M"})

    assert response.status_code == 200
    body = response.json()
    assert_matches_response_schema(live_schema, "/api/v1/search", body)
    assert [hit["title"] for hit in body["hits"]] == ["Wool sweater"]  # cotton's M is sold out
    assert body["facets"]["options"] == [
        {
            "key": "colour",
            "label": "Colour",
            "is_chosen": False,
            "values": [
                {"value": "green", "label": "Green", "count": 1},
                {"value": "navy", "label": "Navy", "count": 1},
            ],
        },
        {"key": "size", "label": "Size", "is_chosen": True, "values": [{"value": "m", "label": "M", "count": 1}]},
    ]
    prices = {r["key"]: r["count"] for r in body["facets"]["price_ranges"]}
    assert prices == {"under-25": 0, "25-50": 0, "50-100": 1, "100-plus": 0}

    both = client.get("/api/v1/search", {"size": "l", "colour": "GREEN", "price_range": "25-50"}).json()
    assert [hit["title"] for hit in both["hits"]] == ["Cotton sweater"]
    assert_matches_response_schema(live_schema, "/api/v1/search", both)


@pytest.mark.parametrize(
    ("query", "field"),
    [("colour=green&colour=navy", "colour"), ("size=" + "x" * 41, "size"), ("material=", "material")],
)
def test_api_refuses_bad_option_parameters_with_field_errors(query, field):
    response = Client().get(f"/api/v1/search?{query}")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert field in response.content.decode()


def test_search_page_shows_option_facets_with_links_and_a_chip_for_the_chosen_one(sweaters):
    client = Client()
    page = client.get("/search/", {"q": "sweater"})

    assert page.status_code == 200
    html = page.content.decode()
    assert re.search(r'<h3 id="fo-colour-title">Colour</h3>', html)
    assert re.search(r'<h3 id="fo-size-title">Size</h3>', html)
    assert 'href="?colour=green&amp;q=sweater"' in html
    assert re.search(r'href="\?q=sweater&amp;size=l">L <span class="count">1</span>', html)

    chosen = client.get("/search/", {"q": "sweater", "size": "L"}).content.decode()
    assert "Cotton sweater" in chosen and "Wool sweater" not in chosen
    assert re.search(r'aria-current="true" class="active">L', chosen)
    assert re.search(r'<a class="chip" href="\?q=sweater">Size: L', chosen)


def test_search_page_answers_an_overlong_option_with_no_results_not_an_error(sweaters):
    page = Client().get("/search/", {"q": "sweater", "colour": "g" * 500})

    assert page.status_code == 200
    assert "We couldn" in page.content.decode()
