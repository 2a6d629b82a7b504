"""Fixtures for fault injection: servers of our own on loopback ports that tests stop and start."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.test.utils import override_settings

from etsy.breakers import reset_all
from tests.local_services import LocalRedis, free_port


@pytest.fixture
def local_redis(tmp_path):
    server = LocalRedis(port=free_port(), workdir=tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _close_caches() -> None:
    for alias in ("default", "strict"):
        try:
            caches[alias].close()
        except Exception:
            pass


@pytest.fixture
def caches_on_local_redis(local_redis, settings):
    """Point both cache aliases (page data and the strict one: idempotency, payments ledger) at our Redis."""
    new = {alias: {**config, "LOCATION": local_redis.url} for alias, config in settings.CACHES.items()}
    _close_caches()
    with override_settings(CACHES=new):  # django resets its cache handler on this change
        try:
            yield local_redis
        finally:
            _close_caches()
    _close_caches()


@pytest.fixture(autouse=True)
def _closed_breakers():
    reset_all()
    yield
    reset_all()


@pytest.fixture
def no_vocabulary_refresh():
    """Keep transactional tests from refreshing search's spelling vocabulary (a materialized view).

    The flush after a transactional test empties the tables but not a materialized view, so a
    refresh here would leave words behind for later tests. Marking a refresh as already pending
    (the receivers' debounce key, in the Redis this run's processes share) suppresses it.
    """
    from django.core.cache import cache

    from search.receivers import VOCABULARY_PENDING_KEY, VOCABULARY_REFRESH_DELAY

    cache.set(VOCABULARY_PENDING_KEY, 1, timeout=VOCABULARY_REFRESH_DELAY * 5)
    yield
    cache.delete(VOCABULARY_PENDING_KEY)
