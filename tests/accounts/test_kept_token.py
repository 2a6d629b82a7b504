"""An API token's account is kept in the web process (accounts.authentication), and deleting the token or changing
the account ends that at once."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import caches
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from etsy import cache, near_cache
from tests.worker import run_in_another_process

pytestmark = pytest.mark.django_db

CART = "/api/v1/cart"  # an API read only a signed-in buyer may make


def kept(key: str) -> bool:
    raw = cache.raw_key(cache.account_token_key(key))
    return bool(near_cache.get().lookup([raw]))


@pytest.fixture
def tracked():
    near = near_cache.get()
    assert near is not None and near.sync(), "the invalidation listener did not start"
    return near


def _client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def token(buyer, tracked, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        token = Token.objects.create(user=buyer)
    return token


@pytest.fixture
def warm(token, tracked):
    client = _client(token.key)
    assert client.get(CART).status_code == 200  # reads the token and creates its marker
    assert tracked.sync()
    assert client.get(CART).status_code == 200  # reads it again and keeps it
    assert kept(token.key)
    return client


def test_a_kept_token_and_its_account_cost_no_query(warm, tracked, django_assert_num_queries):
    warm.get(CART)  # loads the account (accounts.backends) and creates its marker
    assert tracked.sync()
    warm.get(CART)  # loads it again and keeps it
    with django_assert_num_queries(0):  # the cart comes from Redis, the token and the account from the process
        response = warm.get(CART)
    assert response.status_code == 200


def test_a_kept_token_authenticates_its_own_account(warm, token, buyer):
    from accounts.authentication import NearCachedTokenAuthentication

    user, auth = NearCachedTokenAuthentication().authenticate_credentials(token.key)
    assert user.pk == buyer.pk and user.email == buyer.email
    assert auth.key == token.key and auth.user_id == buyer.pk and auth.created == token.created
    assert not auth._state.adding


def test_a_deleted_token_is_refused_at_once(warm, token, django_capture_on_commit_callbacks):
    key = token.key
    with django_capture_on_commit_callbacks(execute=True):
        token.delete()
    assert not kept(key)
    response = warm.get(CART)
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Invalid token."


def test_the_account_of_a_kept_token_deactivated_is_refused(warm, buyer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        buyer.is_active = False
        buyer.save(update_fields=["is_active"])
    response = warm.get(CART)
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "User inactive or deleted."


def test_an_unknown_token_is_refused(tracked):
    response = _client("0" * 40).get(CART)
    assert response.status_code == 401 and response.json()["error"]["message"] == "Invalid token."


def test_no_token_is_written_to_redis(warm, token):
    assert caches["default"].get(cache.account_token_key(token.key)) == 1  # the marker, nothing else
    client = caches["default"].client.get_client()
    for raw in client.scan_iter(f"{settings.CACHE_KEY_PREFIX}:*"):
        assert token.key.encode() not in raw and token.key.encode() not in (client.dump(raw) or b"")


@pytest.mark.django_db(transaction=True)
def test_a_token_deleted_by_another_process_is_refused_here(tracked):
    user = get_user_model().objects.create_user(email="other@example.com", password="x-Pass-2026!")
    token = Token.objects.create(user=user)
    client = _client(token.key)
    client.get(CART)
    assert tracked.sync()
    assert client.get(CART).status_code == 200
    assert kept(token.key)
    run_in_another_process(
        f"from rest_framework.authtoken.models import Token; Token.objects.filter(pk={token.key!r}).delete()"
    )
    assert tracked.sync()
    assert not kept(token.key)
    assert client.get(CART).status_code == 401


def test_a_token_read_from_the_database_marks_itself_and_its_account_in_one_round_trip(token, buyer, monkeypatch):
    from accounts.authentication import NearCachedTokenAuthentication

    marked = []
    original = cache.ensure_markers

    def counting(*keys, ttl):
        marked.append(keys)
        return original(*keys, ttl=ttl)

    monkeypatch.setattr(cache, "ensure_markers", counting)
    NearCachedTokenAuthentication().authenticate_credentials(token.key)
    assert marked == [(cache.account_key(buyer.pk), cache.account_token_key(token.key))]
