"""The after-commit batch (etsy.cache.batch): a commit's callbacks send their Redis writes in one round trip,
after the commit, never before it; a rollback sends nothing; Redis down after commit fails nothing."""

from __future__ import annotations

import logging

import pytest
from django.core.cache import caches
from django.db import transaction

from accounts.models import User
from etsy import cache
from etsy.cache import batch
from search import caching as search_caching

pytestmark = pytest.mark.django_db(transaction=True)


def _sent(command) -> bytes:
    return command if isinstance(command, bytes) else b"".join(bytes(part) for part in command)


def _warm_scripts() -> None:
    """Load the scripts into Redis (a first use after a restart runs one in full: one more round trip)."""
    cache.invalidate(sets=["warm:pages"])
    cache.take_version("warm:seq", ttl=60)


def test_a_commits_callbacks_send_their_redis_writes_in_one_round_trip_after_the_commit(redis_round_trips):
    _warm_scripts()
    for key in ("product:1", "product:2", "page:a"):
        cache.set(key, key, ttl=60)
    cache.add_to_set("shop:1:pages", "page:a", ttl=60)
    redis_round_trips.clear()
    with transaction.atomic():
        transaction.on_commit(lambda: cache.invalidate(keys=["product:1"], generations=["gen:shop:1"]))
        transaction.on_commit(lambda: search_caching.stamp_listings([1, 2]))
        transaction.on_commit(lambda: cache.invalidate(keys=["product:2"], sets=["shop:1:pages"]))
        assert cache.get("product:1", cache_type="t") == "product:1"  # nothing before the commit
        redis_round_trips.clear()
    assert len(redis_round_trips) == 1  # three round trips without the batch
    assert caches["default"].get_many(["product:1", "product:2", "page:a"]) == {}
    assert cache.get_generations(["gen:shop:1"]) == [1]
    assert search_caching.read_listing_stamps([1, 2])[0] > 0


def test_a_rolled_back_transaction_sends_nothing(redis_round_trips):
    cache.set("product:3", "kept", ttl=60)
    redis_round_trips.clear()
    with pytest.raises(RuntimeError), transaction.atomic():
        transaction.on_commit(lambda: cache.invalidate(keys=["product:3"]))
        raise RuntimeError("rolled back")
    assert redis_round_trips == []
    assert cache.get("product:3", cache_type="t") == "kept"


def test_a_version_taken_in_a_callback_carries_the_writes_queued_before_it(redis_round_trips):
    _warm_scripts()
    cache.set("product:4", "stale", ttl=60)
    versions = []
    redis_round_trips.clear()
    with transaction.atomic():
        transaction.on_commit(lambda: cache.invalidate(keys=["product:4"]))
        transaction.on_commit(lambda: versions.append(cache.take_version("seq:4", ttl=60)))
        transaction.on_commit(
            lambda: cache.store_if_newer(
                {"value:4": "v"}, version_key="version:4", sequence_key="seq:4", version=versions[0], ttl=60
            )
        )
    # The version's round trip carried the DEL queued before it; the store went at the end.
    assert len(redis_round_trips) == 2
    assert b"DEL" in _sent(redis_round_trips[0]) and b"EVALSHA" in _sent(redis_round_trips[1])
    assert versions[0] >= 1
    assert cache.get("product:4", cache_type="t") is None and cache.get("value:4", cache_type="t") == "v"


def test_redis_down_after_the_commit_fails_nothing(settings, caplog):
    broken = {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"}
    broken["OPTIONS"] = {**broken["OPTIONS"], "SOCKET_CONNECT_TIMEOUT": 0.05, "SOCKET_TIMEOUT": 0.05}
    settings.CACHES = {**settings.CACHES, "default": broken}
    versions = []
    with caplog.at_level(logging.WARNING, logger="etsy.cache"), transaction.atomic():
        User.objects.create(email="committed@example.com")
        transaction.on_commit(lambda: cache.invalidate(keys=["product:5"], sets=["shop:5:pages"]))
        transaction.on_commit(lambda: versions.append(cache.take_version("seq:5", ttl=60)))
        transaction.on_commit(lambda: search_caching.stamp_listings([5], add=("pending:5", 60)))
    assert User.objects.filter(email="committed@example.com").exists()
    assert versions == [None]  # the cart's store is skipped: readers use the database
    assert "could not send the after-commit writes" in caplog.text


def test_a_script_redis_lost_runs_in_full(monkeypatch):
    cache.set("product:6", "stale", ttl=60)
    cache.add_to_set("shop:6:pages", "page:6", ttl=60)
    cache.set("page:6", "stale", ttl=60)
    monkeypatch.setattr(batch, "_sha", lambda script: "0" * 40)  # a digest Redis does not know: NOSCRIPT
    with transaction.atomic():
        transaction.on_commit(lambda: cache.invalidate(keys=["product:6"], sets=["shop:6:pages"]))
    assert caches["default"].get_many(["product:6", "page:6"]) == {}
    assert cache.take_version("seq:6", ttl=60) == 1
