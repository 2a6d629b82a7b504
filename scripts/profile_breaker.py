"""What the shared payment breaker adds to a call: Redis round trips and CPU per counted call, per refused
call and per ``is_refusing()`` (the check before each checkout), beside the per-process breaker.

Each pass makes ``--calls`` calls of a function that does nothing through a per-process breaker (its window
50 ms, so that it holds a few calls as in production) and through a shared one (10 s: its sorted sets hold
thousands here, more than production's), alternated; the breakers have names of their own, so nothing the
application uses is touched. It reports this process's CPU per call (``time.process_time``), the wall time per
call, the round trips this thread sent to Redis per call, and Redis's own CPU per script call (``INFO
commandstats``, ``cmdstat_evalsha``; other clients' EVALSHA calls in the same seconds would count too).
Medians over ``--passes``.

    REDIS_URL=redis://127.0.0.1:6379/N CACHE_KEY_PREFIX=x .venv/bin/python scripts/profile_breaker.py \\
        --calls 2000 --passes 5

``--simulate RUNS`` replays the bench's slow-card mix instead, on an injected clock: 100 checkouts at 5 a
second over 4 sync workers, one in ten on the slow card (it holds its worker 5 s, then counts as a failure):
every tenth as the bench sends them, then each at random with 10 %. It counts the good checkouts refused with
per-process windows and with the shared one (RUNS seeds, the same for both; ``simulate``).
"""

from __future__ import annotations

import argparse
import heapq
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "etsy.settings")

import django  # noqa: E402
import pybreaker  # noqa: E402

django.setup()

import redis  # noqa: E402
from django.core.cache import caches  # noqa: E402

from etsy.breakers import RateBreaker  # noqa: E402

sent = [0]
_original = redis.connection.AbstractConnection.send_packed_command


def _counting(self, command, check_health=True):
    sent[0] += 1
    return _original(self, command, check_health)


redis.connection.AbstractConnection.send_packed_command = _counting


def evalsha_usec(client) -> tuple[int, float]:
    stats = client.info("commandstats").get("cmdstat_evalsha", {})
    return int(stats.get("calls", 0)), float(stats.get("usec", 0))


def measure(fn, calls: int) -> tuple[float, float, float]:
    """(CPU µs, wall µs, round trips) per call of ``fn``."""
    sent[0] = 0
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(calls):
        fn()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return cpu / calls * 1e6, wall / calls * 1e6, sent[0] / calls


class Clock:
    def __init__(self):
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def simulate(seed: int, *, shared: bool, every_tenth: bool, workers: int = 4, checkouts: int = 100) -> int:
    """Good checkouts refused in one run of the slow-card mix (each sync worker a breaker of its own).

    A checkout arrives every 0.2 s and goes to a free worker (at random), or waits for the first to free up. A
    good one holds it 30 ms; a slow card holds it 5 s (the provider's timeout) and counts as a failure then.
    ``every_tenth``: the bench's rule (checkout 0, 10, 20...); otherwise each one at random with 10 %.
    """
    rng = random.Random(seed)
    clock = Clock()
    started = clock.now
    name = f"simulate-{uuid.uuid4().hex[:8]}"
    kwargs = {"error_threshold": 0.25, "volume_threshold": 5, "reset_timeout": 30}
    breakers = [RateBreaker(name, shared=shared, clock=clock, **kwargs) for _ in range(workers)]
    free_at = [started] * workers
    timeouts: list[tuple[float, int]] = []  # (when the slow call gives up, worker)
    refused = 0
    try:
        for index in range(checkouts):
            arrival = started + 0.2 * index
            free = [w for w in range(workers) if free_at[w] <= arrival]
            worker = rng.choice(free) if free else min(range(workers), key=free_at.__getitem__)
            start = max(arrival, free_at[worker])
            while timeouts and timeouts[0][0] <= start:
                clock.now, waiting = heapq.heappop(timeouts)
                try:
                    breakers[waiting].call(_timeout)
                except (TimeoutError, pybreaker.CircuitBreakerError):
                    pass
            clock.now = start
            slow = index % 10 == 0 if every_tenth else rng.random() < 0.1
            if breakers[worker].is_refusing():
                refused += 0 if slow else 1
                free_at[worker] = start + 0.005
            elif slow:
                free_at[worker] = start + 5.0
                heapq.heappush(timeouts, (start + 5.0, worker))
            else:
                breakers[worker].call(_nothing)
                free_at[worker] = start + 0.03
    finally:
        breakers[0].reset()
    return refused


def _nothing():
    return None


def _timeout():
    raise TimeoutError("payment provider gave no answer")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--simulate", type=int, default=0, metavar="RUNS")
    args = parser.parse_args()
    if args.simulate:
        for every_tenth in (True, False):
            print("every tenth checkout on the slow card (the bench)" if every_tenth else "each checkout slow at 10 %")
            for shared in (False, True):
                refused = [simulate(seed, shared=shared, every_tenth=every_tenth) for seed in range(args.simulate)]
                print(
                    f"  {'shared' if shared else 'per-process'} windows: good checkouts refused per run {refused}; "
                    f"runs with any {sum(1 for r in refused if r)} of {len(refused)}, total {sum(refused)}"
                )
        return

    name = f"profile-{uuid.uuid4().hex[:8]}"
    kwargs = {"error_threshold": 0.25, "volume_threshold": 5, "reset_timeout": 30}
    # The per-process window sums its deque on every call: a 50 ms window keeps it as short as a process's
    # window is in production (a few payment calls in 10 s), not the thousands this loop makes.
    local = RateBreaker(f"{name}-local", shared=False, window_seconds=0.05, **kwargs)
    shared = RateBreaker(name, shared=True, **kwargs)
    refusing = RateBreaker(f"{name}-open", shared=True, **kwargs)
    refusing.open()
    stats_client = caches["strict"].client.get_client(write=True)

    def nothing():
        return None

    def refused():
        try:
            refusing.call(nothing)
        except Exception:  # noqa: BLE001 - pybreaker.CircuitBreakerError, expected
            pass

    rows: dict[str, list[tuple[float, float, float]]] = {}
    redis_usec: list[float] = []
    shared.call(nothing)  # loads the script
    try:
        for _ in range(args.passes):
            rows.setdefault("per-process breaker, counted call", []).append(
                measure(lambda: local.call(nothing), args.calls)
            )
            before = evalsha_usec(stats_client)
            rows.setdefault("shared breaker, counted call", []).append(
                measure(lambda: shared.call(nothing), args.calls)
            )
            after = evalsha_usec(stats_client)
            if after[0] > before[0]:
                redis_usec.append((after[1] - before[1]) / (after[0] - before[0]))
            rows.setdefault("shared breaker, refused call (open)", []).append(measure(refused, args.calls))
            rows.setdefault("shared breaker, is_refusing() (fresh view)", []).append(
                measure(shared.is_refusing, args.calls)
            )
            rows.setdefault("per-process breaker, is_refusing()", []).append(measure(local.is_refusing, args.calls))
    finally:
        shared.reset()
        refusing.reset()

    print(f"{args.calls} calls x {args.passes} passes, medians")
    print(f"{'':46} {'CPU µs':>8} {'wall µs':>8} {'round trips':>12}")
    for label, values in rows.items():
        cpu, wall, trips = (statistics.median(v[i] for v in values) for i in range(3))
        print(f"{label:46} {cpu:8.1f} {wall:8.1f} {trips:12.2f}")
    if redis_usec:
        print(f"Redis CPU per EVALSHA (the record script): {statistics.median(redis_usec):.1f} µs")


if __name__ == "__main__":
    main()
