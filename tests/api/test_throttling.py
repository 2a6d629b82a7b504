"""The API throttles (etsy.api.throttling): DRF's rules and estimates, one Redis round trip per check."""

import threading

import pytest
import redis.connection
from django.core.cache import caches
from django.test import RequestFactory
from rest_framework.request import Request

from etsy.api.throttling import AuthEndpointThrottle, UserThrottle

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_history():
    caches["default"].delete_pattern("throttle:*")
    yield
    caches["default"].delete_pattern("throttle:*")


def _request(user=None):
    request = Request(RequestFactory().get("/api/v1/me", REMOTE_ADDR="10.1.2.3"))
    if user is not None:
        request.user = user
    return request


class _Clock(UserThrottle):
    now_at = 1_000_000.0

    def timer(self):
        return self.now_at


def test_a_throttle_check_is_one_redis_round_trip(buyer, throttle_rates, redis_round_trips):
    throttle_rates(user="5/min")
    throttle = UserThrottle()
    throttle.allow_request(_request(buyer), None)  # loads the script into Redis
    redis_round_trips.clear()
    assert throttle.allow_request(_request(buyer), None)
    assert len(redis_round_trips) == 1


def test_the_limit_the_window_and_the_wait_are_drfs(buyer, throttle_rates):
    throttle_rates(user="3/min")
    throttle = _Clock()
    for at in (0.0, 10.0, 20.0):
        throttle.now_at = 1_000_000.0 + at
        assert throttle.allow_request(_request(buyer), None)
    throttle.now_at = 1_000_030.0
    assert not throttle.allow_request(_request(buyer), None)
    assert throttle.wait() == pytest.approx(30.0)  # the oldest leaves in 30 s; one place to free
    throttle.now_at = 1_000_060.0  # the first is exactly one window old: gone, as in DRF's history
    assert throttle.allow_request(_request(buyer), None)
    assert not throttle.allow_request(_request(buyer), None)


def test_each_client_has_its_own_history(buyer, other_buyer, throttle_rates):
    throttle_rates(user="1/min", auth="1/min")
    assert UserThrottle().allow_request(_request(buyer), None)
    assert not UserThrottle().allow_request(_request(buyer), None)
    assert UserThrottle().allow_request(_request(other_buyer), None)
    assert AuthEndpointThrottle().allow_request(_request(), None)
    assert not AuthEndpointThrottle().allow_request(_request(), None)


def test_requests_at_once_never_share_the_last_place(buyer, throttle_rates):
    throttle_rates(user="5/min")
    barrier, allowed = threading.Barrier(12), []

    def ask():
        barrier.wait(5)
        allowed.append(UserThrottle().allow_request(_request(buyer), None))

    threads = [threading.Thread(target=ask) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(allowed) == [False] * 7 + [True] * 5


def test_redis_down_lets_requests_through(buyer, throttle_rates, monkeypatch):
    throttle_rates(user="1/min")

    def down(*args, **kwargs):
        raise redis.exceptions.ConnectionError("down")

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", down)
    assert all(UserThrottle().allow_request(_request(buyer), None) for _ in range(3))
