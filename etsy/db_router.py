"""Read replicas: which database alias a query goes to.

``DATABASE_REPLICA_URLS`` adds the aliases ``replica1``, ``replica2``, ... (settings, "Database").
The primary (``default``) takes every write, every read inside a transaction and every
read outside a replica-eligible request. A request is replica-eligible when
:class:`ReplicaReadsMiddleware` says so: a GET or HEAD of a catalog, shop, search or feed
page (``settings.REPLICA_READ_VIEWS``) from a client that has not written in the last
``READ_YOUR_WRITES_SECONDS`` (a signed cookie set after each write).

Each process checks each replica at most every ``REPLICA_CHECK_SECONDS``: a replica that
refuses connections, is not in recovery, or whose replay is further behind than
``REPLICA_MAX_LAG_SECONDS`` drops out until a later check finds it healthy again; with
no healthy replica, reads go to the primary.
"""

from __future__ import annotations

import contextvars
import itertools
import logging
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

logger = logging.getLogger(__name__)

REPLICA_PREFIX = "replica"
PIN_COOKIE = "etsy_primary"
_PIN_SALT = "etsy.db_router.read-your-writes"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# The replica alias chosen for the current request, or None: read the primary.
_request_replica: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_replica", default=None)

# Seconds a replica is behind: 0 when it has replayed all it received, else the age of its
# last replayed transaction (an overestimate after an idle primary, which errs towards the primary).
_LAG_SQL = """
SELECT pg_is_in_recovery(),
       CASE WHEN pg_last_wal_receive_lsn() IS NULL OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0) END
"""


def replica_aliases() -> list[str]:
    return [alias for alias in settings.DATABASES if alias.startswith(REPLICA_PREFIX)]


@dataclass
class _ReplicaState:
    healthy: bool = False
    lag_seconds: float | None = None
    checked_at: float = float("-inf")


class ReplicaHealth:
    """Per-process view of the replicas, refreshed at most every ``REPLICA_CHECK_SECONDS``."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._states: dict[str, _ReplicaState] = {}
        self._lock = threading.Lock()
        self._turn = itertools.count()

    def reset(self) -> None:
        with self._lock:
            self._states.clear()

    def mark_down(self, alias: str) -> None:
        with self._lock:
            self._states[alias] = _ReplicaState(healthy=False, checked_at=self.clock())

    def is_healthy(self, alias: str) -> bool:
        now = self.clock()
        state = self._states.get(alias)
        if state is None or now - state.checked_at >= settings.REPLICA_CHECK_SECONDS:
            state = self._check(alias, now)
        return state.healthy

    def lag_seconds(self, alias: str) -> float | None:
        state = self._states.get(alias)
        return None if state is None or state.lag_seconds is None else round(state.lag_seconds, 3)

    def choose(self) -> str | None:
        """Return a healthy replica alias (round robin), or None when none is."""
        aliases = replica_aliases()
        if not aliases:
            return None
        start = next(self._turn)
        for offset in range(len(aliases)):
            alias = aliases[(start + offset) % len(aliases)]
            if self.is_healthy(alias):
                return alias
        return None

    def _check(self, alias: str, now: float) -> _ReplicaState:
        state = _ReplicaState(checked_at=now)
        try:
            with connections[alias].cursor() as cursor:
                cursor.execute(_LAG_SQL)
                in_recovery, lag = cursor.fetchone()
            state.lag_seconds = float(lag)
            state.healthy = bool(in_recovery) and state.lag_seconds <= settings.REPLICA_MAX_LAG_SECONDS
        except Exception:
            logger.warning("replica unreachable", extra={"alias": alias})
            connections[alias].close()
        previous = self._states.get(alias)
        if previous is not None and previous.healthy != state.healthy:
            logger.warning(
                "replica %s",
                "back" if state.healthy else "dropped out",
                extra={"alias": alias, "lag_seconds": state.lag_seconds},
            )
        with self._lock:
            self._states[alias] = state
        return state


health = ReplicaHealth()


class ReplicaRouter:
    """Send reads of replica-eligible requests to a healthy replica, everything else to the primary."""

    def db_for_read(self, model, **hints):
        alias = _request_replica.get()
        if alias is None or connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return DEFAULT_DB_ALIAS
        return alias

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True  # every alias holds the same data

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS


def is_pinned_to_primary(request) -> bool:
    return (
        request.get_signed_cookie(PIN_COOKIE, default=None, salt=_PIN_SALT, max_age=settings.READ_YOUR_WRITES_SECONDS)
        is not None
    )


def is_replica_view(view_name: str, namespace: str) -> bool:
    eligible = settings.REPLICA_READ_VIEWS
    return view_name in eligible or (bool(namespace) and namespace in eligible)


class ReplicaReadsMiddleware:
    """Choose the database for the request's reads; pin a client that writes to the primary.

    After any request with an unsafe method (a form post, an API write), the response
    carries a signed cookie for ``READ_YOUR_WRITES_SECONDS``: while it is valid, that
    client's pages read the primary, so a seller sees the price they just saved.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.enabled = bool(replica_aliases())

    def __call__(self, request):
        if not self.enabled:
            return self.get_response(request)
        token = _request_replica.set(None)
        try:
            response = self.get_response(request)
        finally:
            _request_replica.reset(token)
        if request.method not in _SAFE_METHODS:
            response.set_signed_cookie(
                PIN_COOKIE,
                "1",
                salt=_PIN_SALT,
                max_age=settings.READ_YOUR_WRITES_SECONDS,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not self.enabled or request.method not in ("GET", "HEAD"):
            return None
        match = request.resolver_match
        if match is None or not is_replica_view(match.view_name, match.namespace):
            return None
        if is_pinned_to_primary(request):
            return None
        alias = health.choose()
        if alias is None:
            return None
        try:  # a replica stopped since the last check drops out now, not on the page's first query
            connections[alias].close_if_health_check_failed()
            connections[alias].ensure_connection()
        except Exception:
            health.mark_down(alias)
            connections[alias].close()
            return None
        _request_replica.set(alias)
        return None
