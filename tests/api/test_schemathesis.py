"""Property-based conformance: every operation of the live OpenAPI document, fuzzed.

Schemathesis (Python API, in-process WSGI) generates valid and invalid requests for all
operations, signed in as a user who is both a buyer (with orders and a cart) and a seller
(with a shop, listings and orders), and checks every response: no 5xx, a documented
status code and content type, a body that matches its documented schema, bad tokens refused.
A second test runs stateful workflows along the links schemathesis infers between operations
(create, then read, change or delete). Examples are bounded so the run stays near a minute.
A third replays, through the same response-conformance checks, the requests an independent probe
found the API and its schema disagreeing on (issue 19), each with the status it must now get.
(Paths with %0A are in tests/api/test_api_errors.py: schemathesis's in-process WSGI transport
passes the escape through undecoded, so only Django's own client sends the newline gunicorn does.)
"""

from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from cart import services as cart_services
from etsy.breakers import reset_all
from orders.models import Order
from tests.accounts.factories import UserFactory
from tests.cart.factories import CartItemFactory
from tests.catalog.factories import CategoryFactory, ProductFactory
from tests.orders.factories import OrderFactory, OrderItemFactory, ReviewFactory
from tests.shops.factories import ShopFactory

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

MAX_EXAMPLES = 20
# Response conformance: a documented status, content type, headers and body for every answer
# (asserted by name, on top of schemathesis's defaults, so that no configuration turns them off).
CONFORMANCE_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Reported at the end of the run by tests/api/conftest.py.
GENERATED = {"cases": 0, "operations": set(), "statuses": Counter(), "stateful_calls": 0}

# Operations whose documented 400 also covers business rules a schema cannot express
# (weak password, empty cart, card number, listing and review rules, price_min above price_max):
# there a 400 for well-formed input is an answer, not a defect, so "valid data is accepted" is
# not asserted for them. Every other check still runs. (The cart's quantity bounds are in the
# schema and PATCH of a cart line accepts {}, so that PATCH is held to every check.)
RULE_400_OPERATIONS = {
    "POST /api/v1/cart/items",  # an offering of another listing, switched off, personalisation missing or too long
    "POST /api/v1/auth/register",
    "POST /api/v1/checkout",
    "POST /api/v1/seller/products",
    "PATCH /api/v1/seller/products/{product_id}",
    "POST /api/v1/seller/products/{product_id}/images",
    "PUT /api/v1/seller/products/{product_id}/offerings",  # the grid must cover the combinations, unique names
    "PATCH /api/v1/seller/products/{product_id}/offerings/{offering_id}",
    "PUT /api/v1/seller/products/{product_id}/personalization",  # a required text needs a prompt
    "GET /api/v1/search",
    "POST /api/v1/orders/{order_id}/review",
    "POST /api/v1/shops",
    "PATCH /api/v1/seller/shop",
    "POST /api/v1/conversations",  # blank text, own shop, a listing or order not of this shop
    "POST /api/v1/conversations/{conversation_id}/messages",  # blank text, bad pictures
    "POST /api/v1/me/addresses",  # blank text, a country that is not two letters
    "PATCH /api/v1/me/addresses/{address_id}",
    "POST /api/v1/me/email",  # the current password must be right
    "POST /api/v1/me/password",  # the current password must be right, the new one strong
    "POST /api/v1/me/email/confirm",  # the token must be a valid signed link of this account
    "POST /api/v1/orders/{order_id}/case",  # blank description
    "POST /api/v1/seller/orders/{order_id}/ship",  # a tracking number with a null character (any text field)
    "POST /api/v1/cases/{case_id}/messages",  # blank text
    "POST /api/v1/seller/cases/{case_id}/messages",  # blank text
    "POST /api/v1/seller/cases/{case_id}/refund",  # an amount of 0 or above what remains (refund_too_large)
}


@pytest.fixture
def _keep_test_connection():
    """The raw WSGI handler closes the database connection after each request; the test's
    transaction lives on that connection, so keep it open (as Django's test client does)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_world(settings, tmp_path, _keep_test_connection):
    """A small marketplace the fuzzer's user can act on, and no throttling to trip over."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "100000/min", "user": "100000/min", "auth": "100000/min"},
    }
    settings.MEDIA_ROOT = tmp_path
    settings.PAYMENT_TIMEOUT_SECONDS = 0.2
    settings.TEST_PAYMENT_SLOW_SECONDS = 0.3
    reset_all()

    root = CategoryFactory(name="Home", slug="home")
    CategoryFactory(name="Kitchen", slug="kitchen", parent=root)
    user = UserFactory(email="fuzz@example.com", is_staff=True)
    shop = ShopFactory(owner=user, name="Fuzz Shop")
    products = [ProductFactory(shop=shop, category=root, quantity=q) for q in (1, 5, 0)]
    other_shop = ShopFactory()
    elsewhere = [ProductFactory(shop=other_shop, category=root, quantity=3, price=Decimal("12.00")) for _ in range(3)]
    in_cart = cart_services.add_item(user=user, product_id=elsewhere[0].pk, quantity=2)
    CartItemFactory(
        user=UserFactory(),
        product=ProductFactory(shop=other_shop, category=root),
        reserved_until=timezone.now() + timedelta(minutes=10),
    )
    for status in (Order.Status.PAID, Order.Status.SHIPPED, Order.Status.DELIVERED):
        OrderItemFactory(order=OrderFactory(buyer=user, shop=other_shop, status=status))
        OrderItemFactory(order=OrderFactory(shop=shop, status=status))
    ReviewFactory(order__shop=shop, shop=shop)
    Token.objects.create(user=user, key=FUZZ_TOKEN)
    yield {"products": products, "in_cart": in_cart}
    reset_all()


# Loaded from the running application (no database needed to describe the API).
# (schemathesis.pytest.from_fixture would load it lazily, but it does not work with pytest 9 yet.)
schema = schemathesis.openapi.from_wsgi("/api/v1/schema?format=json", get_wsgi_application())
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=MAX_EXAMPLES, deterministic=True
)
# The fuzz user's API token. Fixed, because schemathesis builds some cases (its coverage phase)
# while collecting tests, before any fixture has run; fuzz_world stores this key for the user.
FUZZ_TOKEN = "5c4e" * 10


@schema.auth()
class FuzzUserToken:
    """Sign every generated request in as the fuzz user; schemathesis also derives invalid
    credentials from it to check that bad tokens are refused (ignored_auth)."""

    def get(self, case, context):
        return FUZZ_TOKEN

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Token {data}"}


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case, fuzz_world):
    GENERATED["cases"] += 1
    GENERATED["operations"].add(case.operation.label)
    excluded = [positive_data_acceptance] if case.operation.label in RULE_400_OPERATIONS else []
    response = case.call_and_validate(additional_checks=CONFORMANCE_CHECKS, excluded_checks=excluded)
    GENERATED["statuses"][f"{response.status_code // 100}xx"] += 1


# The probe's requests (issue 19), as schemathesis cases: (operation, what it sent, the status now).
PROBE_CASES = {
    "quantity past the cart's bound": (
        "/api/v1/cart/items",
        "POST",
        {"body": {"product_id": "<stocked>", "quantity": 100000}},
        400,
    ),
    "empty PATCH of a cart line": (
        "/api/v1/cart/items/{line_id}",
        "PATCH",
        {"path_parameters": {"line_id": "<in cart>"}, "body": {}},
        200,
    ),
    "price_min above price_max": ("/api/v1/search", "GET", {"query": {"price_min": "10", "price_max": "5"}}, 400),
    "checkout without its Idempotency-Key": (
        "/api/v1/checkout",
        "POST",
        {"body": {"address": {}, "card_number": "4242424242424242"}},
        400,
    ),
}


@pytest.mark.parametrize("name", list(PROBE_CASES))
def test_probe_requests_get_documented_answers(name, fuzz_world):
    path, method, sent, expected = PROBE_CASES[name]
    stocked, in_cart = fuzz_world["products"][1], fuzz_world["in_cart"]
    placeholders = {"<stocked>": stocked.pk, "<in cart>": in_cart.pk}
    sent = {
        part: {
            key: placeholders.get(value, value) if isinstance(value, str) else value for key, value in fields.items()
        }
        for part, fields in sent.items()
    }
    sent["headers"] = {"Authorization": f"Token {FUZZ_TOKEN}", **sent.get("headers", {})}
    case = schema[path][method].Case(**sent)
    response = case.call_and_validate(checks=[*CONFORMANCE_CHECKS, negative_data_rejection])
    assert response.status_code == expected, response.text[:300]
    assert response.headers["content-type"][0].startswith("application/json")


def test_stateful_workflows_follow_links_between_operations(fuzz_world):
    """Chains of calls (create, then read, change or delete what was created) along the links
    schemathesis infers from the schema, e.g. POST /seller/products -> PATCH /seller/products/{id}."""
    workflow = schema.as_state_machine()

    class AuthenticatedWorkflow(workflow):
        def validate_response(self, response, case, additional_checks=None, **kwargs):
            excluded = [positive_data_acceptance] if case.operation.label in RULE_400_OPERATIONS else []
            case.validate_response(
                response,
                additional_checks=additional_checks,
                excluded_checks=excluded,
                transport_kwargs=kwargs or None,
                recorder=getattr(self, "recorder", None),
            )

        def after_call(self, response, case):
            GENERATED["stateful_calls"] += 1
            super().after_call(response, case)

    run_state_machine_as_test(
        AuthenticatedWorkflow,
        settings=settings(
            max_examples=15,
            stateful_step_count=6,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
