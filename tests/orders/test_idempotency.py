import json

import pytest
from django.core.cache import caches
from django.test import override_settings

from cart import services as cart_services
from etsy import idempotency
from etsy.idempotency import (
    IdempotencyKeyInvalid,
    IdempotencyKeyMissing,
    IdempotencyKeyReused,
    IdempotencyRequestInProgress,
    IdempotencyUnavailable,
)
from orders import payments
from orders.exceptions import CartEmpty, PaymentDeclined
from orders.models import Checkout
from orders.services.checkout import fingerprint_checkout, place_order
from tests.catalog.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_missing_key_is_a_400(raw):
    with pytest.raises(IdempotencyKeyMissing) as exc:
        idempotency.parse_key(raw)
    assert exc.value.status_code == 400


@pytest.mark.parametrize("raw", ["x" * 256, "caf\u00e9", "tab\there", '"a"b"', '""'])
def test_malformed_or_too_long_key_is_a_400(raw):
    with pytest.raises(IdempotencyKeyInvalid) as exc:
        idempotency.parse_key(raw)
    assert exc.value.status_code == 400


def test_key_accepts_sf_string_quotes_and_255_chars():
    assert idempotency.parse_key('"8e03978e-40d5-43e8-bc93-6894a57f9324"') == "8e03978e-40d5-43e8-bc93-6894a57f9324"
    assert idempotency.parse_key("k" * 255) == "k" * 255


def test_completed_response_replays_byte_identical_and_processing_is_409():
    first = idempotency.begin(scope="user:1", key="abc", fingerprint="fp")
    assert first.replay is None
    with pytest.raises(IdempotencyRequestInProgress) as exc:
        idempotency.begin(scope="user:1", key="abc", fingerprint="fp")
    assert exc.value.status_code == 409
    sent = first.complete_json(status=201, data={"total": "12.30", "orders": [1, 2]}, headers={"Location": "/o/1"})

    again = idempotency.begin(scope="user:1", key="abc", fingerprint="fp")
    replayed = again.replay.to_response()
    assert (replayed.status_code, replayed.content) == (201, sent.content)
    assert replayed["Location"] == "/o/1" and replayed["Idempotent-Replayed"] == "true"
    ttl = caches["strict"].ttl(f"idempotency:user:1:{__import__('hashlib').sha256(b'abc').hexdigest()}")
    assert 24 * 3600 - 5 < ttl <= 24 * 3600


def test_same_key_different_payload_is_422_and_scoped_per_user():
    idempotency.begin(scope="user:1", key="abc", fingerprint="fp").complete(
        status=200, body=b"ok", content_type="text/plain"
    )
    with pytest.raises(IdempotencyKeyReused) as exc:
        idempotency.begin(scope="user:1", key="abc", fingerprint="other")
    assert exc.value.status_code == 422
    assert idempotency.begin(scope="user:2", key="abc", fingerprint="fp").replay is None


def test_a_retry_arriving_after_the_cart_emptied_waits_then_replays_instead_of_422():
    """The window two parallel submissions met: the first has emptied the cart (so the second's fingerprint
    differs) but has not stored its answer yet. The second must hear "in progress", then get the replay."""
    first = idempotency.begin(scope="user:1", key="race", fingerprint="cart-full")
    with pytest.raises(IdempotencyRequestInProgress):
        idempotency.begin(scope="user:1", key="race", fingerprint="cart-empty")
    first.also_matches("cart-empty")  # what the views do before storing the answer: one write, both states
    first.complete(status=201, body=b"placed", content_type="text/plain")
    replay = idempotency.begin(scope="user:1", key="race", fingerprint="cart-empty").replay
    assert replay is not None and replay.body == b"placed"
    with pytest.raises(IdempotencyKeyReused):
        idempotency.begin(scope="user:1", key="race", fingerprint="another-body")


def test_failure_before_side_effects_releases_the_key():
    with pytest.raises(CartEmpty), idempotency.attempt(scope="user:1", key="k", fingerprint="fp"):
        raise CartEmpty()
    with idempotency.attempt(scope="user:1", key="k", fingerprint="fp") as retry:
        assert retry.replay is None
        retry.complete(status=201, body=b"{}", content_type="application/json")


def test_redis_down_refuses_with_503():
    broken = {
        alias: {
            **config,
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {**config["OPTIONS"], "SOCKET_CONNECT_TIMEOUT": 0.2},
        }
        for alias, config in __import__("django.conf").conf.settings.CACHES.items()
    }
    with override_settings(CACHES=broken):
        with pytest.raises(IdempotencyUnavailable) as exc:
            idempotency.begin(scope="user:1", key="k", fingerprint="fp")
    assert exc.value.status_code == 503


def _checkout_view(buyer, address, key, payload):
    """What the API view does (D owns the real one): the idempotency contract around place_order."""
    fp = fingerprint_checkout(buyer=buyer, payload=payload)
    with idempotency.attempt(scope=idempotency.user_scope(buyer), key=key, fingerprint=fp) as att:
        if att.replay is not None:
            return att.replay.to_response()
        try:
            result = place_order(buyer=buyer, address=address, payment_method=payload["card"], idempotency_key=key)
            response = att.complete_json(
                status=201, data={"checkout": str(result.checkout.pk), "total": result.checkout.total}
            )
        except PaymentDeclined as exc:
            response = att.complete_json(status=402, data={"code": exc.code, "extra": exc.extra})
        att.also_matches(fingerprint_checkout(buyer=buyer, payload=payload))
        return response


def test_checkout_replays_after_cart_was_emptied_but_refuses_key_reuse_for_a_new_cart(buyer, address, shop):
    product = ProductFactory(shop=shop, quantity=5)
    cart_services.add_item(user=buyer, product_id=product.pk)
    payload = {"card": payments.PM_SUCCEEDS, "address": "1 Market Street"}
    first = _checkout_view(buyer, address, "key-1", payload)
    second = _checkout_view(buyer, address, "key-1", payload)
    assert first.status_code == second.status_code == 201 and first.content == second.content
    assert Checkout.objects.count() == 1 and json.loads(second.content)["total"] == "28.00"  # 24.00 + 4.00 shipping

    cart_services.add_item(user=buyer, product_id=product.pk, quantity=2)  # a new cart, not a retry
    with pytest.raises(IdempotencyKeyReused):
        _checkout_view(buyer, address, "key-1", payload)


def test_declined_checkout_replays_its_402(buyer, address, product):
    cart_services.add_item(user=buyer, product_id=product.pk)
    payload = {"card": payments.PM_DECLINED}
    first = _checkout_view(buyer, address, "key-d", payload)
    assert first.status_code == 402
    assert _checkout_view(buyer, address, "key-d", payload).content == first.content  # cart restored: same state
    assert Checkout.objects.count() == 1


def test_the_fingerprint_of_an_emptied_cart_is_known_without_reading_it(
    buyer, address, shop, django_assert_num_queries
):
    payload = {"card": "pm_card_visa"}
    product = ProductFactory(shop=shop, quantity=5)
    cart_services.add_item(user=buyer, product_id=product.pk)
    place_order(buyer=buyer, address=address, payment_method="pm_card_visa", idempotency_key="emptied")
    with django_assert_num_queries(0):
        known = fingerprint_checkout(buyer=buyer, payload=payload, cart_emptied=True)
    assert known == fingerprint_checkout(buyer=buyer, payload=payload)  # the cart read: the same empty cart
