"""The OpenAPI document is valid and complete; Swagger UI is served from our own static files."""

import re

import pytest
import yaml
from django.contrib.staticfiles import finders
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(api_client):
    response = api_client.get("/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def test_schema_is_valid_openapi_3(schema):
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")


def test_every_operation_documents_its_errors_in_the_error_format(schema):
    assert schema["paths"]
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            for code in ("401", "429"):
                assert code in responses, (method, path, code)
            for code, response in responses.items():
                if int(code) >= 400:
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref == "#/components/schemas/ErrorResponse", (method, path, code)
                assert response.get("description") or int(code) < 300, (method, path, code)


def test_every_request_body_is_documented(schema):
    for path, item in schema["paths"].items():
        for method in ("post", "put", "patch"):
            if method in item and not path.endswith(("/cancel", "/read", "/received")):  # these take no body
                assert "requestBody" in item[method], (method, path)


def test_schema_is_also_available_as_yaml(api_client):
    response = api_client.get("/api/v1/schema")
    assert response.status_code == 200
    assert yaml.safe_load(response.content)["info"]["title"] == "Etsy Marketplace API"


def test_swagger_ui_is_served_without_a_cdn(api_client):
    response = api_client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    assert "/api/v1/docs?script" in html  # the initialiser, which points Swagger UI at /api/v1/schema
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")


def test_swagger_ui_has_no_inline_script_so_a_strict_csp_allows_it(api_client):
    html = api_client.get("/api/v1/docs").content.decode()
    scripts = re.findall(r"<script([^>]*)>", html)
    assert scripts and all("src=" in attributes for attributes in scripts)
    init = api_client.get("/api/v1/docs?script")
    assert init.status_code == 200
    assert init["Content-Type"].startswith("application/javascript")
    assert b"/api/v1/schema" in init.content
