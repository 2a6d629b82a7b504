"""The write path's requests under load: ``POST /api/v1/cart/items`` (add-to-cart) and ``POST /api/v1/checkout``
of a 3-shop cart, sent one at a time while the CPU they cost is counted, at saturation (wrk), and in open loop
at fixed rates (latency from the scheduled send), with one checkout in N paying with the test card that
answers after the payment timeout (``pm_card_timeout``).
"""

from __future__ import annotations

import http.client
import json
import queue
import threading
import time
import uuid

from bench.databases import database_name
from bench.drivers import open_loop_schedule, post_json, run_wrk
from bench.report import percentiles
from bench.seeds import SHIPPING_ADDRESS, WritePathSeed
from bench.servers import cpu_seconds, cpu_spent, descendants

LATE_LIMIT_S = 30.0  # open loop: a request this late is counted (with its lateness) but not sent
CHECKOUT_BODY = {"address": SHIPPING_ADDRESS, "payment_method": "pm_card_visa"}

# wrk's requests: the bare view, add-to-cart by buyers in turn, or a checkout with a key of its own each.
WRK_REQUEST_LUA = r"""
local tokens = {}
for line in io.lines(os.getenv("BENCH_TOKENS")) do tokens[#tokens + 1] = line end
local products = {}
for line in io.lines(os.getenv("BENCH_PRODUCTS")) do products[#products + 1] = line end
local kind = os.getenv("BENCH_KIND")
local run = os.getenv("BENCH_RUN")
local counter = 0
local step = 1
local threads = {}
local next_id = 0
setup = function(thread)
  thread:set("offset", next_id)
  next_id = next_id + 1
  threads[#threads + 1] = thread
end
init = function(args)
  counter = offset
  step = tonumber(os.getenv("BENCH_THREADS"))
end
request = function()
  local n = counter
  counter = counter + step
  if kind == "bare" then
    return wrk.format("GET", "/bench/bare")
  end
  local token = tokens[(n % #tokens) + 1]
  local headers = {["Authorization"] = "Token " .. token, ["Content-Type"] = "application/json"}
  if kind == "add" then
    local product = products[((n * 7919) % #products) + 1]
    return wrk.format("POST", "/api/v1/cart/items", headers, '{"product_id":' .. product .. ',"quantity":1}')
  end
  headers["Idempotency-Key"] = "wrk-" .. run .. "-" .. n
  return wrk.format("POST", "/api/v1/checkout", headers, os.getenv("BENCH_BODY"))
end
"""


def saturate(*, port: int, kind: str, seconds: int, connections: int, tokens: list[str], products: list[int]) -> dict:
    """``kind`` ("bare", "add" or "checkout") as fast as ``connections`` go for ``seconds`` (wrk)."""
    return run_wrk(
        WRK_REQUEST_LUA,
        port=port,
        seconds=seconds,
        connections=connections,
        timeout_s=10,
        files={
            "BENCH_TOKENS": "\n".join(tokens or ["-"]) + "\n",
            "BENCH_PRODUCTS": "\n".join(str(p) for p in products or [0]) + "\n",
        },
        env={
            "BENCH_KIND": kind,
            "BENCH_RUN": uuid.uuid4().hex[:8],
            "BENCH_THREADS": "2",
            "BENCH_BODY": json.dumps(CHECKOUT_BODY),
        },
    )


def cpu_per_request(
    *, port: int, web_pid: int, worker_pid: int, db_url: str, data: WritePathSeed, count: int
) -> dict[str, dict]:
    """CPU milliseconds each request costs the web server, PostgreSQL and the Celery worker, one request at a
    time (counted from /proc, so a busy machine slows the requests but hardly changes what they cost)."""
    import psycopg

    name = database_name(db_url)
    products = sorted(data.stocked)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    db = psycopg.connect(db_url, autocommit=True)

    def sessions() -> int:
        """PostgreSQL sessions opened on the bench database so far (a backend that starts and ends between two
        samples is invisible to /proc: this counts them)."""
        return db.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s", [name]).fetchone()[0]

    def sample() -> dict[str, dict[int, float]]:
        backends = [r[0] for r in db.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [name])]
        return {
            "web": cpu_seconds(descendants(web_pid)),
            "database": cpu_seconds(backends),
            "worker": cpu_seconds(descendants(worker_pid)),
        }

    def bare(i: int) -> int:
        conn.request("GET", "/bench/bare")
        response = conn.getresponse()
        response.read()
        return response.status

    def add(i: int) -> int:
        body = {"product_id": products[(i * 7919) % len(products)], "quantity": 1}
        return post_json(conn, "/api/v1/cart/items", body, {"Authorization": f"Token {data.add_tokens[i % 200]}"})

    def checkout(i: int) -> int:
        headers = {"Authorization": f"Token {data.checkout_tokens[i]}", "Idempotency-Key": uuid.uuid4().hex}
        return post_json(conn, "/api/v1/checkout", CHECKOUT_BODY, headers)

    results = {}
    for label, send, n in (("bare view", bare, count * 5), ("add-to-cart", add, count), ("checkout", checkout, count)):
        for i in range(5):  # warm: connections, prepared caches
            send(n + i if label == "checkout" else i)
        time.sleep(2 if label == "checkout" else 0.2)  # the worker's outbox work of the warm-up
        opened = sessions()
        before, started, statuses = sample(), time.monotonic(), {}
        for i in range(n):
            status = send(i)
            statuses[status] = statuses.get(status, 0) + 1
        wall = time.monotonic() - started
        time.sleep(3 if label == "checkout" else 0.5)  # let the worker finish the outbox rows of these requests
        after = sample()
        results[label] = {
            **{k: 1000 * cpu_spent(before[k], after[k]) / n for k in before},
            "wall_ms": 1000 * wall / n,
            "sessions": (sessions() - opened) / n,
            "n": n,
            "statuses": statuses,
        }
    db.close()
    conn.close()
    return results


def open_loop(
    *, port: int, data: WritePathSeed, add_rate: float, checkout_rate: float, seconds: float, slow_every: int = 0
) -> dict[str, dict]:
    """Send add-to-cart and checkout at fixed rates; latency is measured from each request's scheduled time."""
    schedule = open_loop_schedule({"add": add_rate, "checkout": checkout_rate}, seconds)
    if len(data.checkout_tokens) < int(checkout_rate * seconds):
        raise SystemExit("not enough checkout buyers for this open-loop run: raise --checkout-buyers")
    jobs: queue.Queue = queue.Queue()
    for item in schedule:
        jobs.put(item)
    results: dict[str, list] = {"add": [], "checkout": [], "checkout (slow card)": []}
    statuses: dict[str, dict] = {k: {} for k in results}
    lock = threading.Lock()
    start = time.monotonic() + 0.5
    products = sorted(data.stocked)

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            try:
                offset, kind, i = jobs.get_nowait()
            except queue.Empty:
                break
            scheduled = start + offset
            delay = scheduled - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            label = kind
            if -delay > LATE_LIMIT_S:  # the server is far behind: shed the rest rather than queue for minutes
                with lock:
                    results[kind].append(-delay * 1000)
                    statuses[kind]["not sent (30 s late)"] = statuses[kind].get("not sent (30 s late)", 0) + 1
                continue
            try:
                if kind == "add":
                    token = data.add_tokens[i % len(data.add_tokens)]
                    body = {"product_id": products[(i * 7919) % len(products)], "quantity": 1}
                    status = post_json(conn, "/api/v1/cart/items", body, {"Authorization": f"Token {token}"})
                else:
                    slow = slow_every and i % slow_every == 0
                    label = "checkout (slow card)" if slow else "checkout"
                    body = {
                        "address": SHIPPING_ADDRESS,
                        "payment_method": "pm_card_timeout" if slow else "pm_card_visa",
                    }
                    # Buyers from the end of the pool: a saturation run's last requests, still queued at the
                    # server when it ended, use the first ones.
                    token = data.checkout_tokens[-1 - i]
                    headers = {"Authorization": f"Token {token}", "Idempotency-Key": uuid.uuid4().hex}
                    status = post_json(conn, "/api/v1/checkout", body, headers)
            except (OSError, http.client.HTTPException) as exc:
                status = type(exc).__name__
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            elapsed = (time.monotonic() - scheduled) * 1000
            with lock:
                results[label].append(elapsed)
                statuses[label][status] = statuses[label].get(status, 0) + 1
        conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(48)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 90)
    return {
        label: {"n": len(values), **percentiles(values), "statuses": statuses[label]}
        for label, values in results.items()
        if values
    }
