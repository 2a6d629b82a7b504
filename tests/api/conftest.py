"""Fixtures for API tests: clients signed in with a token, and settings helpers."""

import sys

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def client_for(db):
    """Return an APIClient authenticated with ``user``'s API token (Authorization: Token ...)."""

    def make(user) -> APIClient:
        token, _ = Token.objects.get_or_create(user=user)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make


@pytest.fixture
def buyer_client(client_for, buyer):
    return client_for(buyer)


@pytest.fixture
def other_buyer_client(client_for, other_buyer):
    return client_for(other_buyer)


@pytest.fixture
def seller_client(client_for, seller, shop):
    return client_for(seller)


@pytest.fixture
def throttle_rates(settings):
    """Set throttle rates for one test (rates are read per request)."""

    def set_rates(**rates):
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
        }

    return set_rates


def error_of(response) -> dict:
    """Return the ``error`` object of an API error response (asserting the shape)."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields", "extra"}, body
    return body["error"]


def pytest_terminal_summary(terminalreporter):
    """Report how many requests schemathesis generated (figure for the closing note)."""
    module = sys.modules.get("tests.api.test_schemathesis")
    generated = getattr(module, "GENERATED", None)
    if generated and generated["cases"]:
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(generated["statuses"].items()))
        terminalreporter.write_line(
            f"schemathesis: {generated['cases']} generated cases over {len(generated['operations'])} "
            f"operations ({statuses}); {generated['stateful_calls']} calls in stateful workflows"
        )
