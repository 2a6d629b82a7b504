import threading
import time

import pytest
from django.core.cache import caches

from etsy import cache, metrics
from etsy.cache import aside


def _count(counter, cache_type):
    return counter.labels(cache_type=cache_type)._value.get()


def test_cache_aside_fetches_once_then_hits_and_counts(db):
    calls = []
    hits, misses = _count(metrics.cache_hits, "t1"), _count(metrics.cache_misses, "t1")
    for _ in range(3):
        assert cache.cache_aside("k:1", lambda: calls.append(1) or {"v": 1}, ttl=60, cache_type="t1") == {"v": 1}
    assert len(calls) == 1
    assert _count(metrics.cache_misses, "t1") - misses == 1
    assert _count(metrics.cache_hits, "t1") - hits == 2


def test_cache_aside_caches_none_results(db):
    calls = []
    for _ in range(2):
        assert cache.cache_aside("k:none", lambda: calls.append(1), ttl=60, cache_type="t") is None
    assert len(calls) == 1


def test_stampede_lock_lets_one_of_many_concurrent_misses_fetch(db):
    calls = []
    barrier = threading.Barrier(8)
    results = []

    def slow_fetch():
        calls.append(1)
        time.sleep(0.3)
        return "fresh"

    def worker():
        barrier.wait()
        results.append(cache.cache_aside("k:hot", slow_fetch, ttl=60, cache_type="t"))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["fresh"] * 8
    assert len(calls) == 1


def test_a_waiter_sees_a_fast_rebuild_within_milliseconds_not_after_a_fixed_sleep(db, monkeypatch):
    caches["default"].set("lock:k:busy", 1, 5)  # another process is rebuilding the key
    slept = []

    def fake_sleep(seconds):  # the rebuild elsewhere takes 20 ms of (virtual) time
        slept.append(seconds)
        if sum(slept) >= 0.02:
            caches["default"].set("k:busy", "rebuilt", 60)

    monkeypatch.setattr(aside.time, "sleep", fake_sleep)
    assert cache.cache_aside("k:busy", lambda: "db", ttl=60, cache_type="t") == "rebuilt"
    assert sum(slept) <= 0.03  # a sync worker that sleeps serves nobody: it looked again within 10 ms
    assert sum(cache.LOCK_WAITS_SECONDS) == pytest.approx(1.0)  # and gives up on a dead holder after 1 s


def test_waiting_is_bounded_when_the_lock_holder_never_fills_the_key(db, monkeypatch):
    monkeypatch.setattr(aside, "LOCK_MAX_WAITS", 3)
    caches["default"].set("lock:k:stuck", 1, 5)  # someone else holds the lock and died
    started = time.monotonic()
    assert cache.cache_aside("k:stuck", lambda: "db", ttl=60, cache_type="t") == "db"
    assert time.monotonic() - started < 1.0


def test_cache_disabled_bypasses_redis(db, settings):
    settings.CACHE_ENABLED = False
    calls = []
    for _ in range(2):
        cache.cache_aside("k:off", lambda: calls.append(1) or 1, ttl=60, cache_type="t")
    assert len(calls) == 2
    assert caches["default"].get("k:off") is None


@pytest.fixture
def redis_down(settings):
    broken = {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"}
    broken["OPTIONS"] = {**broken["OPTIONS"], "SOCKET_CONNECT_TIMEOUT": 0.05, "SOCKET_TIMEOUT": 0.05}
    settings.CACHES = {**settings.CACHES, "default": broken}
    yield


def test_cache_aside_reads_the_database_when_redis_is_down(db, redis_down):
    started = time.monotonic()
    assert cache.cache_aside("k:down", lambda: "db", ttl=60, cache_type="t") == "db"
    assert time.monotonic() - started < 1.0  # no lock waiting when Redis is unreachable
    cache.bump_generations(["gen:x"])  # invalidation does not raise either
    cache.delete("k:down")
    cache.invalidate(keys=["k:down"], sets=["set:down"], generations=["gen:x"])
    assert cache.get_generations(["gen:x"]) == [0]


def test_invalidate_drops_keys_and_recorded_keys_and_moves_generations_in_one_round_trip(db, redis_round_trips):
    cache.invalidate(sets=["warm:pages"])  # the script loaded into Redis
    for key in ("shop:1", "shop:2", "page:a", "page:b", "page:c", "other"):
        cache.set(key, key, ttl=60)
    cache.add_to_set("shop:1:pages", "page:a", ttl=60)
    cache.add_to_set("shop:1:pages", "page:b", ttl=60)
    cache.add_to_set("shop:2:pages", "page:c", ttl=60)
    cache.bump_generations(["gen:shop:1"])
    redis_round_trips.clear()
    cache.invalidate(
        keys=["shop:1", "shop:2"], sets=["shop:1:pages", "shop:2:pages"], generations=["gen:shop:1", "gen:shop:2"]
    )
    # One script reads the sets' members and deletes them with the keys and sets, and moves the generations
    # (two round trips before: the members read, then everything deleted and moved).
    assert len(redis_round_trips) == 1
    found = caches["default"].get_many(["shop:1", "shop:2", "page:a", "page:b", "page:c", "other"])
    assert found == {"other": "other"}
    assert (
        not caches["default"].client.get_client().exists(cache.raw_key("shop:1:pages"), cache.raw_key("shop:2:pages"))
    )
    assert cache.get_generations(["gen:shop:1", "gen:shop:2"]) == [2, 1]
    redis_round_trips.clear()
    cache.invalidate(keys=["other"], generations=["gen:shop:2"])
    assert len(redis_round_trips) == 1 and cache.get("other", cache_type="t") is None


@pytest.mark.django_db
def test_pages_are_served_from_the_database_when_redis_is_down(client, product, redis_down, settings):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    assert client.get("/").status_code == 200
    assert client.get(product.get_absolute_url()).status_code == 200
    assert client.get(f"/c/{product.category.slug}/").status_code == 200
    assert client.get("/search/?q=mug").status_code == 200


@pytest.mark.django_db
def test_pages_bypass_the_cache_when_disabled(client, product, settings):
    settings.CACHE_ENABLED = False
    for url in (
        "/",
        product.get_absolute_url(),
        f"/c/{product.category.slug}/",
        "/search/?q=mug",
        f"/shops/{product.shop.slug}/",
    ):
        assert client.get(url).status_code == 200, url
    leftover = [k for k in caches["default"].keys("*") if not k.startswith(("views:", "search:"))]
    assert leftover == []


def test_entries_filled_together_expire_spread_over_the_last_fifth_of_their_ttl(db):
    for i in range(200):
        cache.cache_aside(f"k:spread:{i}", lambda: i, ttl=300, cache_type="t")
        cache.set(f"k:set:{i}", i, ttl=300)
    ttls = [caches["default"].ttl(f"k:{kind}:{i}") for kind in ("spread", "set") for i in range(200)]
    # never longer than the documents' TTL (less the seconds the 400 writes took on a busy machine)
    assert min(ttls) >= 240 - 3 and max(ttls) <= 300
    assert max(ttls) - min(ttls) >= 45  # and not one wave


class _Batched:
    """A rebuild the refresher may run with others of its group (``cache.BatchedRebuild``), recording its runs."""

    def __init__(self, name: str, group: str, runs: list):
        self.name, self.batch_group, self.runs = name, group, runs

    def __call__(self) -> None:
        self.runs.append([self.name])

    def run_batch(self, rebuilds) -> None:
        self.runs.append([r.name for r in rebuilds])


def test_the_refresher_runs_the_pending_rebuilds_of_one_batch_group_together(db):
    runs: list = []
    assert isinstance(_Batched("a", "g", runs), cache.BatchedRebuild)
    aside.refresher.submit("k:b1", _Batched("b1", "blue", runs))
    aside.refresher.submit("k:plain", lambda: runs.append(["plain"]))
    aside.refresher.submit("k:r1", _Batched("r1", "red", runs))
    aside.refresher.submit("k:b2", _Batched("b2", "blue", runs))
    aside.refresher.submit("k:b3", _Batched("b3", "blue", runs))
    assert aside.refresher.run_pending() == 5
    assert runs == [["b1", "b2", "b3"], ["plain"], ["r1"]]  # the first queued leads its group; one alone is called
    assert aside.refresher.pending() == 0
    assert not any(caches["default"].get(f"lock:k:{name}") for name in ("b1", "b2", "b3"))  # locks released


def test_a_batch_leaves_out_the_keys_another_process_is_refreshing_and_stops_at_its_size(db, monkeypatch):
    runs: list = []
    monkeypatch.setattr(aside, "MAX_BATCH", 2)
    caches["default"].add("lock:k:x2", 1, 5)  # another process is at it
    for name in ("x1", "x2", "x3", "x4"):
        aside.refresher.submit(f"k:{name}", _Batched(name, "x", runs))
    assert aside.refresher.run_pending() == 3
    assert runs == [["x1"], ["x3", "x4"]]  # x1 and x2 taken together, x2 locked elsewhere: x1 runs alone


def test_a_failed_batch_is_counted_as_nothing_rebuilt_and_releases_its_locks(db):
    class Failing(_Batched):
        def run_batch(self, rebuilds) -> None:
            raise RuntimeError("the database went away")

    for name in ("f1", "f2"):
        aside.refresher.submit(f"k:{name}", Failing(name, "f", []))
    assert aside.refresher.run_pending() == 0
    assert caches["default"].get("lock:k:f1") is None and caches["default"].get("lock:k:f2") is None


def test_the_refresh_budget_refills_at_the_share_the_settings_give(settings):
    budget = aside._RefreshBudget(burst=10)
    for share, expected in ((0.5, 1.0), (0.05, 0.1)):
        settings.CACHE_REFRESH_SHARE = share
        budget.tokens, budget.checked = 0.0, time.monotonic() - 2  # spent, two seconds ago
        assert budget.take()
        assert budget.tokens == pytest.approx(expected, abs=0.01)


def test_a_refresh_share_outside_zero_to_one_fails_the_system_checks(settings):
    from etsy.checks import check_refresh_share

    for share in (0, -0.1, 1.5):
        settings.CACHE_REFRESH_SHARE = share
        assert [e.id for e in check_refresh_share()] == ["etsy.E003"]
    settings.CACHE_REFRESH_SHARE = 1
    assert check_refresh_share() == []
