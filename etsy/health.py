"""GET /api/health: is this web process able to serve, and what is degraded.

Response (JSON)::

    {"status": "ok" | "degraded", "uptime": 3600.0,
     "services": {"postgres": {"status": "healthy", "latencyMs": 1.2}, "redis": {...},
                  "broker": {...}, "elasticsearch": {...},  # only when ELASTICSEARCH_URL is set
                  "replica1": {"status": "healthy", "lagSeconds": 0.0}},  # one per read replica
     },
     "circuitBreakers": {"elasticsearch": {"state": "closed"}, "payment": {"state": "closed"}}}

HTTP status for load balancers:
- 200 ``ok``: every dependency answered and every breaker is closed.
- 200 ``degraded``: PostgreSQL answers, so the process still serves, but Redis, the
  Celery broker, Elasticsearch or a read replica failed (reads go to the primary) or a circuit breaker is open/half-open
  (pages fall back to the database, search to PostgreSQL; see docs/operations.md).
- 503 ``degraded`` with ``postgres`` unhealthy: nothing useful can be served; take
  this instance out of rotation.

Cheap enough to poll every second: PostgreSQL ``SELECT 1`` on the persistent
connection, Redis ``PING`` with sub-second timeouts, and the broker and
Elasticsearch checks (a connection + ping, never a task round trip) cached in
this process for ``HEALTH_CACHE_SECONDS`` (2 s by default).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import redis
import structlog
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_redis import get_redis_connection

from etsy.breakers import breaker_states

logger = structlog.get_logger("etsy.health")

HEALTHY = "healthy"
UNHEALTHY = "unhealthy"
_STARTED = time.monotonic()
_TIMEOUT_SECONDS = 0.5

_cache_lock = threading.Lock()
_cached: dict[str, tuple[float, dict[str, Any]]] = {}
_clients: dict[str, Any] = {}


def _timed(check: Callable[[], None]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        check()
    except Exception as exc:  # any failure of a dependency is a health result, not an error
        return {
            "status": UNHEALTHY,
            "latencyMs": round((time.perf_counter() - started) * 1000, 2),
            "error": type(exc).__name__,
        }
    return {"status": HEALTHY, "latencyMs": round((time.perf_counter() - started) * 1000, 2)}


def _cached_result(name: str, check: Callable[[], None]) -> dict[str, Any]:
    ttl = getattr(settings, "HEALTH_CACHE_SECONDS", 2.0)
    now = time.monotonic()
    with _cache_lock:
        hit = _cached.get(name)
        if hit and now - hit[0] < ttl:
            return hit[1]
    result = _timed(check)
    with _cache_lock:
        _cached[name] = (time.monotonic(), result)
    return result


def clear_cached_checks() -> None:
    """Forget cached broker/Elasticsearch results and clients (tests, config changes)."""
    with _cache_lock:
        _cached.clear()
        _clients.clear()


def check_postgres() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_redis() -> None:
    """PING the Redis behind the default cache (the client has sub-second socket timeouts)."""
    get_redis_connection("default").ping()


def _broker_url() -> str:
    from etsy.celery import app

    return app.conf.broker_url or ""


def check_broker() -> None:
    """Open (or reuse) a connection to the Celery broker and ping it; no task is sent."""
    url = _broker_url()
    if url.startswith(("redis://", "rediss://", "unix://")):
        key = f"broker:{url}"
        client = _clients.get(key)
        if client is None:
            client = redis.Redis.from_url(
                url, socket_connect_timeout=_TIMEOUT_SECONDS, socket_timeout=_TIMEOUT_SECONDS, retry=None
            )
            _clients[key] = client
        client.ping()
        return
    from kombu import Connection

    with Connection(url, connect_timeout=_TIMEOUT_SECONDS) as conn:
        conn.ensure_connection(max_retries=1, timeout=_TIMEOUT_SECONDS)


def check_elasticsearch() -> None:
    """Ask the cluster for its health; red or unreachable is unhealthy, yellow is fine for one node."""
    from elasticsearch import Elasticsearch

    url = settings.ELASTICSEARCH_URL
    key = f"es:{url}"
    client = _clients.get(key)
    if client is None:
        client = Elasticsearch(url, request_timeout=1, max_retries=0, retry_on_timeout=False)
        _clients[key] = client
    health = client.cluster.health(timeout="1s")
    if health.get("status") == "red":
        raise RuntimeError("cluster status red")


def replica_health() -> dict[str, dict[str, Any]]:
    """Each read replica as the router sees it (etsy.db_router: reachable and within the lag bound)."""
    from etsy import db_router

    return {
        alias: {
            "status": HEALTHY if db_router.health.is_healthy(alias) else UNHEALTHY,
            "lagSeconds": db_router.health.lag_seconds(alias),
        }
        for alias in db_router.replica_aliases()
    }


def collect_health() -> tuple[dict[str, Any], int]:
    """Run the checks and return (body, HTTP status)."""
    services = {
        "postgres": _timed(check_postgres),
        "redis": _timed(check_redis),
        "broker": _cached_result("broker", check_broker),
    }
    if getattr(settings, "ELASTICSEARCH_URL", ""):
        services["elasticsearch"] = _cached_result("elasticsearch", check_elasticsearch)
    services.update(replica_health())
    breakers = breaker_states()
    all_healthy = all(service["status"] == HEALTHY for service in services.values())
    all_closed = all(breaker["state"] == "closed" for breaker in breakers.values())
    status = "ok" if all_healthy and all_closed else "degraded"
    http_status = 200 if services["postgres"]["status"] == HEALTHY else 503
    body = {
        "status": status,
        "uptime": round(time.monotonic() - _STARTED, 1),
        "services": services,
        "circuitBreakers": breakers,
    }
    return body, http_status


@never_cache
@require_GET
def health_view(request):
    body, http_status = collect_health()
    _log_transition(body)
    return JsonResponse(body, status=http_status)


_last_reported = {"status": "ok", "failing": (), "open": ()}


def _log_transition(body: dict[str, Any]) -> None:
    """Log when this process's view of health changes, not on every poll."""
    failing = tuple(name for name, service in body["services"].items() if service["status"] != HEALTHY)
    open_breakers = tuple(name for name, breaker in body["circuitBreakers"].items() if breaker["state"] != "closed")
    current = {"status": body["status"], "failing": failing, "open": open_breakers}
    if current == _last_reported:
        return
    _last_reported.update(current)
    log = logger.info if body["status"] == "ok" else logger.warning
    log("health changed", status=body["status"], failing_services=list(failing), open_breakers=list(open_breakers))
