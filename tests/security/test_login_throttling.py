"""Login throttling (accounts.throttling): per username and per address, with a cool-off, HTML and API."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from accounts import throttling
from tests.accounts.factories import UserFactory

PASSWORD = "correct-horse-battery"
LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"
TOKEN = "/api/v1/auth/token"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.LOGIN_THROTTLE_USERNAME_LIMIT = 3
    settings.LOGIN_THROTTLE_ADDRESS_LIMIT = 6
    settings.LOGIN_THROTTLE_COOLOFF_SECONDS = 2
    # the API's own per-address rate limit must not be what answers here
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "auth": "1000/min",
            "anon": "1000/min",
        },
    }


def html_login(email, password, address="10.0.0.1"):
    return Client(REMOTE_ADDR=address).post(LOGIN, {"username": email, "password": password})


def admin_login(email, password, address="10.0.0.1"):
    return Client(REMOTE_ADDR=address).post(ADMIN_LOGIN, {"username": email, "password": password, "next": "/admin/"})


def api_login(email, password, address="10.0.0.1"):
    return APIClient(REMOTE_ADDR=address).post(TOKEN, {"email": email, "password": password}, format="json")


@pytest.mark.parametrize("attempt", [html_login, admin_login, api_login], ids=["html", "admin", "api"])
def test_username_locked_after_failures_even_with_right_password_then_cools_off(attempt):
    user = UserFactory(email="victim@example.com", is_staff=True)
    for _ in range(3):
        response = attempt(user.email, "wrong-guess")
        assert response.status_code in (200, 400, 401, 403)
    refused = attempt(user.email, PASSWORD)  # the right password must not reveal itself during the cool-off
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    assert "_auth_user_id" not in getattr(refused.wsgi_request, "session", {})
    time.sleep(2.2)  # the cool-off is a time-to-live: never a permanent lock-out
    ok = attempt(user.email, PASSWORD)
    assert ok.status_code in (200, 302)
    if attempt is api_login:
        assert ok.json()["token"]


def test_html_refusal_is_a_readable_form_error():
    user = UserFactory()
    for _ in range(3):
        html_login(user.email, "nope")
    response = html_login(user.email, PASSWORD)
    assert response.status_code == 429
    assert b"Too many failed sign-in attempts" in response.content


def test_address_limit_stops_guessing_across_many_usernames_but_not_other_addresses():
    users = [UserFactory() for _ in range(7)]
    for user in users[:6]:
        assert api_login(user.email, "guess", address="10.9.9.9").status_code in (400, 401, 403)
    assert api_login(users[6].email, PASSWORD, address="10.9.9.9").status_code == 429
    assert api_login(users[6].email, PASSWORD, address="10.1.1.1").status_code == 200  # other clients unaffected


def test_failures_are_shared_between_html_and_api_and_success_clears_the_username():
    user = UserFactory()
    html_login(user.email, "x")
    api_login(user.email, "y")
    assert html_login(user.email, PASSWORD).status_code == 302  # 2 failures < 3: still allowed, and clears
    for _ in range(2):
        api_login(user.email, "z")
    assert api_login(user.email, PASSWORD).status_code == 200  # count restarted after the success


def test_username_is_matched_case_insensitively():
    UserFactory(email="case@example.com")
    for variant in ("CASE@example.com", "Case@Example.com", "case@EXAMPLE.COM"):
        html_login(variant, "bad", address=f"10.0.0.{len(variant)}")
    assert api_login("case@example.com", PASSWORD, address="10.2.2.2").status_code == 429


def test_throttle_fails_open_when_redis_is_unreachable(settings):
    user = UserFactory()
    settings.CACHES = {
        **settings.CACHES,
        "default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"},  # nothing listens on port 1
    }
    from django.core.cache import caches

    caches["default"].close()
    try:
        for _ in range(5):
            api_login(user.email, "bad")
        assert api_login(user.email, PASSWORD).status_code == 200  # documented: sign-in keeps working unthrottled
    finally:
        caches["default"].close()


def test_counter_window_is_not_extended_by_more_failures():
    throttling.record_failure(username="a@example.com", address="")
    key = throttling._username_key("a@example.com")
    first_ttl = cache.ttl(key)
    time.sleep(1.1)
    throttling.record_failure(username="a@example.com", address="")
    assert cache.ttl(key) < first_ttl
    assert cache.get(key) == 2


def test_behind_proxies_the_address_is_read_from_x_forwarded_for(settings, rf):
    request = rf.post(LOGIN, REMOTE_ADDR="10.0.0.254", HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.7")
    assert throttling.client_address(request) == "10.0.0.254"  # no proxies configured: the peer
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    assert throttling.client_address(request) == "198.51.100.7"  # the address our one proxy saw
    spoofed = rf.post(LOGIN, REMOTE_ADDR="10.0.0.254", HTTP_X_FORWARDED_FOR="1.1.1.1, 1.2.3.4, 198.51.100.7")
    assert throttling.client_address(spoofed) == "198.51.100.7"  # hops a client added itself are ignored


def test_admin_login_refuses_a_seller_after_thirty_wrong_passwords_with_the_default_limits(settings, shop):
    """The probe: 30 wrong passwords at /admin/login/, then the right one, signed the seller in."""
    settings.LOGIN_THROTTLE_USERNAME_LIMIT = 5
    settings.LOGIN_THROTTLE_ADDRESS_LIMIT = 20
    settings.LOGIN_THROTTLE_COOLOFF_SECONDS = 900
    seller = shop.owner
    answers = [admin_login(seller.email, f"guess-{n}").status_code for n in range(30)]
    assert answers[:5] == [200] * 5  # the admin form's "wrong password" page
    assert set(answers[5:]) == {429}
    refused = admin_login(seller.email, PASSWORD)
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 900
    assert b"Too many failed sign-in attempts" in refused.content
    assert "_auth_user_id" not in refused.wsgi_request.session
    # the one throttle: the site's login and the API refuse the same account, from another address too
    assert html_login(seller.email, PASSWORD, address="10.7.7.7").status_code == 429
    assert api_login(seller.email, PASSWORD, address="10.7.7.8").status_code == 429


@pytest.mark.parametrize("attempt", [html_login, admin_login, api_login], ids=["html", "admin", "api"])
def test_failures_at_one_entry_point_refuse_the_others(attempt):
    user = UserFactory(is_staff=True)
    for guess in (html_login, admin_login, api_login):
        guess(user.email, "wrong")
    assert attempt(user.email, PASSWORD).status_code == 429


def test_admin_address_limit_stops_guessing_across_usernames():
    users = [UserFactory(is_staff=True) for _ in range(7)]
    for user in users[:6]:
        assert admin_login(user.email, "guess", address="10.9.9.9").status_code == 200
    assert admin_login(users[6].email, PASSWORD, address="10.9.9.9").status_code == 429
    assert admin_login(users[6].email, PASSWORD, address="10.1.1.1").status_code == 302
