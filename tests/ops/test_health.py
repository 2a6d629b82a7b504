"""/api/health: real dependency checks, breaker states, and the status a load balancer sees."""

from __future__ import annotations

import time

import pybreaker
import pytest
from django.db import OperationalError
from prometheus_client import REGISTRY

from etsy import health
from etsy.breakers import RateBreaker, RateWindowListener, reset_all, search_breaker
from etsy.celery import app as celery_app
from tests.local_services import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh(settings):
    settings.ELASTICSEARCH_URL = ""
    settings.HEALTH_CACHE_SECONDS = 0
    reset_all()
    yield
    reset_all()


@pytest.fixture
def redis_target(settings, second_redis, monkeypatch):
    """Point the default cache and the Celery broker at our own second Redis."""
    settings.CACHES = {
        **settings.CACHES,
        "default": {**settings.CACHES["default"], "LOCATION": second_redis.url},
    }
    monkeypatch.setattr(celery_app.conf, "broker_url", second_redis.url)
    health.clear_cached_checks()
    return second_redis


def get_health(client):
    response = client.get("/api/health")
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"].startswith("max-age=0")
    return response.status_code, response.json()


def test_health_is_ok_when_every_dependency_answers(client):
    status, body = get_health(client)
    assert status == 200
    assert body["status"] == "ok"
    assert set(body["services"]) == {"postgres", "redis", "broker"}
    for service in body["services"].values():
        assert service["status"] == "healthy"
        assert 0 <= service["latencyMs"] < 1000
    assert body["circuitBreakers"] == {"elasticsearch": {"state": "closed"}, "payment": {"state": "closed"}}
    assert body["uptime"] >= 0


def test_health_degrades_while_redis_is_stopped_and_recovers_after_restart(client, redis_target):
    status, body = get_health(client)
    assert (status, body["status"]) == (200, "ok")

    redis_target.stop()
    started = time.perf_counter()
    status, body = get_health(client)
    assert time.perf_counter() - started < 2.0  # short timeouts: a dead Redis never stalls the probe
    assert status == 200  # still serving from PostgreSQL
    assert body["status"] == "degraded"
    assert body["services"]["redis"]["status"] == "unhealthy"
    assert body["services"]["broker"]["status"] == "unhealthy"
    assert body["services"]["postgres"]["status"] == "healthy"

    redis_target.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status, body = get_health(client)
        if body["status"] == "ok":
            break
        time.sleep(0.2)
    assert (status, body["status"]) == (200, "ok")
    assert body["services"]["redis"]["status"] == "healthy"


def test_broker_check_is_cached_between_polls(client, settings, redis_target):
    settings.HEALTH_CACHE_SECONDS = 30
    assert get_health(client)[1]["services"]["broker"]["status"] == "healthy"
    redis_target.stop()
    body = get_health(client)[1]
    assert body["services"]["redis"]["status"] == "unhealthy"  # checked on every poll
    assert body["services"]["broker"]["status"] == "healthy"  # served from the cached check


def _trip_search_breaker():
    def failing_search():
        raise ConnectionError("elasticsearch unreachable")

    listener = next(item for item in search_breaker.listeners if isinstance(item, RateWindowListener))
    for _ in range(listener.volume_threshold):
        with pytest.raises((ConnectionError, pybreaker.CircuitBreakerError)):
            search_breaker.call(failing_search)


def breaker_gauge(service: str) -> float:
    return REGISTRY.get_sample_value("etsy_circuit_breaker_state", {"service": service})


def test_health_degrades_while_search_breaker_is_open_and_recovers_when_it_closes(client, monkeypatch):
    monkeypatch.setattr(search_breaker, "reset_timeout", 0.2)
    _trip_search_breaker()
    assert search_breaker.current_state == "open"

    status, body = get_health(client)
    assert (status, body["status"]) == (200, "degraded")
    assert body["circuitBreakers"]["elasticsearch"] == {"state": "open"}
    assert all(service["status"] == "healthy" for service in body["services"].values())
    assert breaker_gauge("elasticsearch") == 1
    assert 'etsy_circuit_breaker_state{service="elasticsearch"} 1.0' in client.get("/metrics").content.decode()

    time.sleep(0.3)
    assert search_breaker.call(lambda: "hits") == "hits"  # the half-open trial succeeds

    status, body = get_health(client)
    assert (status, body["status"]) == (200, "ok")
    assert body["circuitBreakers"]["elasticsearch"] == {"state": "closed"}
    assert breaker_gauge("elasticsearch") == 0


def test_health_shows_the_payment_breaker_another_process_opened(client, settings):
    settings.BREAKER_STATE_MAX_AGE = 0  # this process asks Redis at once rather than within 2 s
    other_process = RateBreaker("payment", error_threshold=0.25, volume_threshold=5, reset_timeout=30, shared=True)
    other_process.open()

    status, body = get_health(client)
    assert (status, body["status"]) == (200, "degraded")
    assert body["circuitBreakers"]["payment"] == {"state": "open"}
    assert breaker_gauge("payment") == 1

    other_process.close()
    status, body = get_health(client)
    assert body["circuitBreakers"]["payment"] == {"state": "closed"}
    assert breaker_gauge("payment") == 0


def test_unreachable_elasticsearch_degrades_health_when_configured(client, settings):
    settings.ELASTICSEARCH_URL = f"http://127.0.0.1:{free_port()}"
    status, body = get_health(client)
    assert status == 200
    assert body["status"] == "degraded"
    assert body["services"]["elasticsearch"]["status"] == "unhealthy"


def test_postgres_failure_returns_503_so_the_balancer_drops_the_instance(client, monkeypatch):
    def database_down():
        raise OperationalError("connection refused")

    monkeypatch.setattr(health, "check_postgres", database_down)
    status, body = get_health(client)
    assert status == 503
    assert body["status"] == "degraded"
    assert body["services"]["postgres"] == {
        "status": "unhealthy",
        "latencyMs": body["services"]["postgres"]["latencyMs"],
        "error": "OperationalError",
    }


def test_health_is_cheap_enough_to_poll_every_second(client, settings):
    settings.HEALTH_CACHE_SECONDS = 2
    client.get("/api/health")
    started = time.perf_counter()
    for _ in range(20):
        assert client.get("/api/health").status_code == 200
    per_poll = (time.perf_counter() - started) / 20
    assert per_poll < 0.1, f"{per_poll * 1000:.1f} ms per poll"


def test_health_rejects_other_methods(client):
    assert client.post("/api/health").status_code == 405
