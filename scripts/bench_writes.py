#!/usr/bin/env python
"""The write path under load: add-to-cart and a 3-shop checkout beside the bare view (``make bench-writes``).

1. A database of its own (``<DATABASE_URL name>_bench_writes``): 60 shops, 120 stocked listings (a million
   units each, so stock never runs out), unique listings, buyers with API tokens, and before each checkout
   run a pool of buyers whose carts already hold one listing from each of three shops.
2. The server as production runs it (``etsy/gunicorn.conf.py``, ``ETSY_ENV=production``, DEBUG off) and one
   Celery worker on queues of this run's own (the outbox work of a checkout runs there, as in production).
3. CPU per request: one request at a time, the CPU the web server, PostgreSQL and the Celery worker spent
   on it (from /proc: a busy machine slows requests down but hardly changes what they cost).
4. Saturation (wrk, the same connections for each): the bare view, ``POST /api/v1/cart/items``, and
   ``POST /api/v1/checkout`` of a 3-shop cart; each write run paired with a bare-view run just before it
   (the machine is shared), median of the rounds; requests/s and the ratio within the pair.
5. Open loop (fixed arrival rates, latency from the scheduled send: no coordinated omission): add-to-cart
   10/s + checkout 5/s (ten times the seeds' local peak) and 50/s + 25/s, against the seeds' SLOs
   (add-to-cart p99 100 ms, checkout p99 500 ms); then the same 10x mix with one checkout in ten paying
   with the test card that answers after the payment timeout (``pm_card_timeout``).

``--servers sync:4,gthread:4x4`` compares server settings (workers, and threads per worker) in one run.
Loopback only; every loop is bounded by the clock; the servers are stopped at the end.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import random
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from production_profile import WRITE_PATH_SETTINGS, loopback_production_env

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
BIN = Path(PY).parent
METRICS_TOKEN = secrets.token_urlsafe(32)
ADDRESS = {"name": "Load Buyer", "line1": "1 Bench Street", "line2": "", "city": "Hudson", "postcode": "12534"}
SLO_P99_MS = {"add": 100.0, "checkout": 500.0}
PEAK = {"add": 1.0, "checkout": 0.5}  # the seeds' local peak rates (requests/s)
# Enough shops that 16 concurrent 3-shop checkouts seldom wait on one another's shop-row locks (a marketplace's
# many shops): the figure is the cost of a checkout, not of a queue on a few rows.
SHOPS, STOCKED, UNIQUE = 60, 120, 120
LATE_LIMIT_S = 30.0  # open loop: a request this late is counted (with its lateness) but not sent

WRK_LUA = r"""
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
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"p50":%d,"p95":%d,"p99":%d,"socket_errors":%d,"bad_status":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
"""


def log(msg: str) -> None:
    print(f"[bench-writes] {msg}", flush=True)


# --- database and seed ---------------------------------------------------------------------------
def bench_database_url() -> str:
    import environ

    env = environ.Env()
    stack_env = ROOT / ".data" / "stack.env"
    if stack_env.exists():
        env.read_env(str(stack_env), overwrite=False)
    base = env.str("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/etsy")
    head, _, name = base.rpartition("/")
    return f"{head}/{name.split('?')[0]}_bench_writes"


def ensure_database(url: str) -> None:
    import psycopg

    head, _, name = url.rpartition("/")
    with psycopg.connect(f"{head}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


@dataclass
class Seed:
    stocked: dict[int, int]  # product id -> shop id
    unique: list[int]
    add_tokens: list[str]
    add_user_ids: list[int]
    checkout_tokens: list[str]
    checkout_user_ids: list[int]


def _bulk_buyers(tag: str, prefix: str, count: int) -> tuple[list[int], list[str]]:
    from django.contrib.auth.hashers import make_password
    from rest_framework.authtoken.models import Token

    from accounts.models import User

    password = make_password("bench-writes-password-7")
    users = User.objects.bulk_create(
        User(email=f"{prefix}-{tag}-{i}@bench.test", password=password, is_active=True) for i in range(count)
    )
    tokens = Token.objects.bulk_create(Token(key=Token.generate_key(), user=user) for user in users)
    return [u.pk for u in users], [t.key for t in tokens]


def seed(*, checkout_buyers: int, add_buyers: int) -> Seed:
    """Shops, listings and buyers (call with Django set up); products through the service, buyers in bulk."""
    from decimal import Decimal

    from accounts.models import User
    from catalog.models import Category
    from catalog.services.listings import create_product
    from shops.services import open_shop

    tag = uuid.uuid4().hex[:6]
    category, _ = Category.objects.get_or_create(slug="bench-writes", defaults={"name": "Bench writes"})
    shops = [
        open_shop(owner=User.objects.create_user(f"seller-{tag}-{i}@bench.test", "x-bench-7"), name=f"Bench {tag} {i}")
        for i in range(SHOPS)
    ]
    stocked, unique = {}, []
    for i in range(STOCKED):
        shop = shops[i % SHOPS]
        product = create_product(
            shop=shop, title=f"Stocked mug {i}", category=category, price=Decimal("7.50") + i % 5, quantity=1_000_000
        )
        stocked[product.pk] = shop.pk
    for i in range(UNIQUE):
        product = create_product(
            shop=shops[i % SHOPS],
            title=f"One of a kind bowl {i}",
            category=category,
            price=Decimal("19.00"),
            quantity=1,
        )
        unique.append(product.pk)
    add_ids, add_tokens = _bulk_buyers(tag, "adder", add_buyers)
    checkout_ids, checkout_tokens = _bulk_buyers(tag, "payer", checkout_buyers)
    return Seed(stocked, unique, add_tokens, add_ids, checkout_tokens, checkout_ids)


def fill_carts(data: Seed, *, rng: random.Random) -> None:
    """Give every checkout buyer a cart of three stocked listings from three shops (and empty the adders' carts)."""
    from django.db import connection

    by_shop: dict[int, list[int]] = {}
    for pid, shop_id in data.stocked.items():
        by_shop.setdefault(shop_id, []).append(pid)
    shop_ids = sorted(by_shop)
    rows = []
    for user_id in data.checkout_user_ids:
        for shop_id in rng.sample(shop_ids, 3):
            rows.append((user_id, rng.choice(by_shop[shop_id])))
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM cart_cartitem WHERE user_id = ANY(%s)", [data.checkout_user_ids + data.add_user_ids]
        )
        cursor.execute(
            # Each listing's implicit offering (a plain listing has exactly one: no options).
            "INSERT INTO cart_cartitem (user_id, product_id, offering_id, personalization, quantity, reserved_until,"
            " added_at, updated_at) "
            "SELECT u, p, o.id, '', 1, NULL, now(), now() FROM unnest(%s::bigint[], %s::bigint[]) AS t(u, p) "
            "JOIN catalog_offering AS o ON o.product_id = t.p AND o.option1_id IS NULL AND o.option2_id IS NULL",
            [[r[0] for r in rows], [r[1] for r in rows]],
        )
        cursor.execute("ANALYZE cart_cartitem")


# --- server --------------------------------------------------------------------------------------
@dataclass
class ServerSpec:
    label: str
    workers: int
    threads: int
    asgi: bool = False

    @classmethod
    def parse(cls, text: str) -> ServerSpec:
        """``sync:4`` (4 sync workers), ``gthread:4x3`` (4 workers with 3 threads each) or ``asgi:4`` (uvicorn
        with 4 worker processes serving ``etsy.asgi``; uvicorn is not a dependency: ``pip install uvicorn``)."""
        kind, _, shape = text.partition(":")
        if kind == "sync":
            return cls(text, int(shape or 4), 1)
        if kind == "gthread":
            workers, _, threads = shape.partition("x")
            return cls(text, int(workers), int(threads or 4))
        if kind == "asgi":
            if not (BIN / "uvicorn").exists():
                raise SystemExit("asgi:N needs uvicorn in the virtualenv: .venv/bin/pip install uvicorn")
            return cls(text, int(shape or 4), 1, asgi=True)
        raise SystemExit(f"unknown server {text!r}: use sync:N, gthread:NxT or asgi:N")


class Stack:
    """gunicorn (production profile) and one Celery worker on this run's own queues."""

    def __init__(self, spec: ServerSpec, *, db_url: str, port: int, prefix: str, suffix: str):
        self.spec, self.port = spec, port
        self.env = {
            **os.environ,
            "DATABASE_URL": db_url,
            "CACHE_KEY_PREFIX": prefix,
            "CELERY_QUEUE_SUFFIX": suffix,
            **loopback_production_env(METRICS_BEARER_TOKEN=METRICS_TOKEN, **WRITE_PATH_SETTINGS),
            "BENCH_BARE_VIEW": "1",
            "WEB_CONCURRENCY": str(spec.workers),
            "WEB_THREADS": str(spec.threads),
            "WEB_MAX_REQUESTS": "0",
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "PYTHONUNBUFFERED": "1",
            "PROMETHEUS_MULTIPROC_DIR": str(Path(tempfile.gettempdir()) / f"etsy-bench-writes-prom-{port}"),
        }
        self.queues = ",".join(f"{q}{suffix}" for q in ("default", "emails", "search", "payments"))
        self.logs = [open(ROOT / ".data" / f"bench_writes_{name}.log", "wb") for name in ("web", "worker")]
        self.web = self.worker = None

    def _answers(self) -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            conn.request("GET", "/bench/bare")
            return conn.getresponse().status == 200
        except OSError:
            return False

    def start(self) -> None:
        if self._answers():  # another server there would be measured instead of ours
            raise SystemExit(f"port {self.port} is in use: pick another with --port")
        command = [str(BIN / "gunicorn"), "etsy.wsgi", "--config", "etsy/gunicorn.conf.py"]
        if self.spec.asgi:  # what etsy/gunicorn.conf.py does for gunicorn: the metrics directory must exist
            Path(self.env["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)
            command = [str(BIN / "uvicorn"), "etsy.asgi:application", "--host", "127.0.0.1", "--port", str(self.port)]
            command += ["--workers", str(self.spec.workers), "--log-level", "warning", "--no-access-log"]
        self.web = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env,
            stdout=self.logs[0],
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        worker_env = {k: v for k, v in self.env.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
        worker_env["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"  # sellers' emails go nowhere
        self.worker = subprocess.Popen(
            [str(BIN / "celery"), "-A", "etsy", "worker", "-P", "solo", "--loglevel", "WARNING", "-Q", self.queues],
            cwd=ROOT,
            env=worker_env,
            stdout=self.logs[1],
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.web.poll() is not None:
                raise SystemExit("gunicorn exited: see .data/bench_writes_web.log")
            if self._answers():
                return
            time.sleep(0.3)
        raise SystemExit("gunicorn did not answer /bench/bare")

    def stop(self) -> None:
        for process in (self.web, self.worker):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in (self.web, self.worker):
            if process is None:
                continue
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for handle in self.logs:
            handle.close()


# --- saturation (wrk) ----------------------------------------------------------------------------
def run_wrk(*, port: int, kind: str, seconds: int, connections: int, tokens: list[str], products: list[int]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "tokens").write_text("\n".join(tokens or ["-"]) + "\n")
        (Path(tmp) / "products").write_text("\n".join(str(p) for p in products or [0]) + "\n")
        (Path(tmp) / "bench.lua").write_text(WRK_LUA)
        env = {
            **os.environ,
            "BENCH_TOKENS": str(Path(tmp) / "tokens"),
            "BENCH_PRODUCTS": str(Path(tmp) / "products"),
            "BENCH_KIND": kind,
            "BENCH_RUN": uuid.uuid4().hex[:8],
            "BENCH_THREADS": "2",
            "BENCH_BODY": json.dumps({"address": {**ADDRESS, "country": "US"}, "payment_method": "pm_card_visa"}),
        }
        command = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s"]
        out = subprocess.run(
            [*command, "-s", str(Path(tmp) / "bench.lua"), f"http://127.0.0.1:{port}"],
            env=env,
            capture_output=True,
            text=True,
            timeout=seconds + 60,
        ).stdout
    match = re.search(r"BENCH (\{.*\})", out)
    if not match:
        raise SystemExit(f"wrk produced no result:\n{out}")
    r = json.loads(match.group(1))
    return {
        "rps": r["requests"] / (r["duration_us"] / 1e6),
        "p50": r["p50"] / 1000,
        "p95": r["p95"] / 1000,
        "p99": r["p99"] / 1000,
        "errors": r["socket_errors"] + r["bad_status"],
        "requests": r["requests"],
    }


# --- CPU per request (robust on a shared machine) -------------------------------------------------
def _cpu_by_pid(pids: list[int]) -> dict[int, float]:
    """CPU seconds (utime + stime) each live process has used."""
    found = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return found


def _cpu_spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two samples, process by process: a process that started meanwhile counts in
    full, one that ended is lost from both sides (a PostgreSQL backend replaced after ``CONN_MAX_AGE`` would
    otherwise take its whole past off the total)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            children = []
        todo += [int(c) for c in children]
    return found


def cpu_per_request(*, stack: Stack, db_url: str, data: Seed, count: int) -> dict[str, dict]:
    """CPU milliseconds each request costs the web server, PostgreSQL and the Celery worker, one request at a
    time (counted from /proc, so a busy machine slows the requests but hardly changes what they cost)."""
    import psycopg

    name = db_url.rpartition("/")[2]
    products = sorted(data.stocked)
    conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=30)
    db = psycopg.connect(db_url, autocommit=True)

    def sessions() -> int:
        """PostgreSQL sessions opened on the bench database so far (a backend that starts and ends between two
        samples is invisible to /proc: this counts them)."""
        return db.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s", [name]).fetchone()[0]

    def sample() -> dict[str, dict[int, float]]:
        backends = [r[0] for r in db.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [name])]
        return {
            "web": _cpu_by_pid(_descendants(stack.web.pid)),
            "database": _cpu_by_pid(backends),
            "worker": _cpu_by_pid(_descendants(stack.worker.pid)),
        }

    def bare(i: int) -> int:
        conn.request("GET", "/bench/bare")
        response = conn.getresponse()
        response.read()
        return response.status

    def add(i: int) -> int:
        body = {"product_id": products[(i * 7919) % len(products)], "quantity": 1}
        return _post(conn, "/api/v1/cart/items", body, {"Authorization": f"Token {data.add_tokens[i % 200]}"})

    def checkout(i: int) -> int:
        body = {"address": {**ADDRESS, "country": "US"}, "payment_method": "pm_card_visa"}
        headers = {"Authorization": f"Token {data.checkout_tokens[i]}", "Idempotency-Key": uuid.uuid4().hex}
        return _post(conn, "/api/v1/checkout", body, headers)

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
            **{k: 1000 * _cpu_spent(before[k], after[k]) / n for k in before},
            "wall_ms": 1000 * wall / n,
            "sessions": (sessions() - opened) / n,
            "n": n,
            "statuses": statuses,
        }
    db.close()
    conn.close()
    return results


# --- open loop -----------------------------------------------------------------------------------
def _post(conn: http.client.HTTPConnection, path: str, body: dict, headers: dict) -> int:
    conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json", **headers})
    response = conn.getresponse()
    response.read()
    return response.status


def open_loop(
    *, port: int, data: Seed, add_rate: float, checkout_rate: float, seconds: float, slow_every: int = 0
) -> dict[str, dict]:
    """Send add-to-cart and checkout at fixed rates; latency is measured from each request's scheduled time."""
    schedule = []
    for kind, rate in (("add", add_rate), ("checkout", checkout_rate)):
        n = int(rate * seconds)
        schedule += [(i / rate, kind, i) for i in range(n)]
    schedule.sort()
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
                    status = _post(conn, "/api/v1/cart/items", body, {"Authorization": f"Token {token}"})
                else:
                    slow = slow_every and i % slow_every == 0
                    label = "checkout (slow card)" if slow else "checkout"
                    body = {
                        "address": {**ADDRESS, "country": "US"},
                        "payment_method": "pm_card_timeout" if slow else "pm_card_visa",
                    }
                    # Buyers from the end of the pool: a saturation run's last requests, still queued at the
                    # server when it ended, use the first ones.
                    token = data.checkout_tokens[-1 - i]
                    headers = {"Authorization": f"Token {token}", "Idempotency-Key": uuid.uuid4().hex}
                    status = _post(conn, "/api/v1/checkout", body, headers)
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


def wait_until_idle(port: int, *, limit_s: float = 120.0) -> None:
    """Wait for the requests a run left queued at the server (the bare view answers fast again)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", "/bench/bare")
            conn.getresponse().read()
            conn.close()
        except OSError:
            pass
        if time.monotonic() - started < 0.1:
            return
        time.sleep(0.5)


def wait_until_worker_idle(pid: int, *, limit_s: float = 120.0, busy_share: float = 0.05) -> None:
    """Wait until the Celery worker (and its children) use less than ``busy_share`` of a core over half a second."""
    deadline = time.monotonic() + limit_s
    pids = _descendants(pid)
    before = _cpu_by_pid(pids)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        after = _cpu_by_pid(pids)
        if _cpu_spent(before, after) < busy_share * 0.5:
            return
        before = after
    log("the Celery worker was still busy after the wait; the next bare-view run shares the cores with it")


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {"p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99)}


# --- main ----------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--servers", default="gthread:4x4,sync:4", help="comma-separated: sync:N, gthread:NxT (the default first)"
    )
    parser.add_argument("--seconds", type=int, default=10, help="measured seconds per saturation run")
    parser.add_argument("--bare-seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--open-seconds", type=int, default=20, help="seconds per open-loop run")
    parser.add_argument("--multipliers", default="10,50", help="open-loop rates, in multiples of the local peak")
    parser.add_argument("--slow-every", type=int, default=10, help="slow-card run: one checkout in N (0: skip it)")
    parser.add_argument("--checkout-buyers", type=int, default=3000)
    parser.add_argument("--cpu-requests", type=int, default=200, help="requests per kind in the CPU phase")
    parser.add_argument("--port", type=int, default=8123)
    parser.add_argument("--skip", default="", help="comma-separated phases to skip: cpu,saturation,open,slow")
    args = parser.parse_args(argv)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a stop still stops the servers (finally)
    sys.path.insert(0, str(ROOT))
    db_url = bench_database_url()
    ensure_database(db_url)
    os.environ["DATABASE_URL"] = db_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "etsy.settings")
    prefix = f"benchwrites-{uuid.uuid4().hex[:6]}"
    os.environ["CACHE_KEY_PREFIX"] = prefix
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    (ROOT / ".data").mkdir(exist_ok=True)
    data = seed(checkout_buyers=args.checkout_buyers, add_buyers=200)
    rng = random.Random(7)
    skip = set(filter(None, args.skip.split(",")))
    multipliers = [float(m) for m in args.multipliers.split(",") if m]
    report = []
    for spec in [ServerSpec.parse(s) for s in args.servers.split(",")]:
        stack = Stack(spec, db_url=db_url, port=args.port, prefix=prefix, suffix=f"-{prefix}")
        log(f"{spec.label}: {spec.workers} workers x {spec.threads} threads; Celery worker on {stack.queues}")
        entry = {"server": spec.label, "cpu": {}, "saturation": {}, "open": {}}
        try:
            stack.start()
            if "cpu" not in skip:
                fill_carts(data, rng=rng)
                entry["cpu"] = cpu_per_request(stack=stack, db_url=db_url, data=data, count=args.cpu_requests)
                log(f"{spec.label} CPU per request: {entry['cpu']}")
            if "saturation" not in skip:
                run_saturation(args, spec, data, rng, entry, worker_pid=stack.worker.pid)
            if "open" not in skip:
                for m in multipliers:
                    wait_until_idle(args.port)
                    fill_carts(data, rng=rng)
                    r = open_loop(
                        port=args.port,
                        data=data,
                        add_rate=PEAK["add"] * m,
                        checkout_rate=PEAK["checkout"] * m,
                        seconds=args.open_seconds,
                    )
                    entry["open"][f"{m:g}x"] = r
                    log(f"{spec.label} open loop {m:g}x: {_brief(r)}")
            if "slow" not in skip and args.slow_every:
                wait_until_idle(args.port)
                fill_carts(data, rng=rng)
                m = multipliers[0]
                r = open_loop(
                    port=args.port,
                    data=data,
                    add_rate=PEAK["add"] * m,
                    checkout_rate=PEAK["checkout"] * m,
                    seconds=args.open_seconds,
                    slow_every=args.slow_every,
                )
                entry["open"][f"{m:g}x, 1 checkout in {args.slow_every} on pm_card_timeout"] = r
                log(f"{spec.label} slow card: {_brief(r)}")
        finally:
            stack.stop()
        report.append(entry)
    print_report(args, report)
    _forget_redis_keys(prefix)
    return 0


def _forget_redis_keys(prefix: str) -> None:
    """Delete this run's cache keys and what is left in its Celery queues (they name ``prefix``)."""
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.REDIS_URL)
    keys = list(client.scan_iter(f"*{prefix}*", count=1000))
    for i in range(0, len(keys), 1000):
        client.delete(*keys[i : i + 1000])


def run_saturation(args, spec: ServerSpec, data: Seed, rng: random.Random, entry: dict, *, worker_pid: int) -> None:
    products = sorted(data.stocked)
    pairs: dict[str, list] = {"add-to-cart": [], "checkout (3 shops)": []}
    for round_no in range(args.rounds):
        fill_carts(data, rng=rng)
        for label, kind, tokens in (
            ("add-to-cart", "add", data.add_tokens),
            ("checkout (3 shops)", "checkout", data.checkout_tokens),
        ):
            bare = run_wrk(
                port=args.port,
                kind="bare",
                seconds=args.bare_seconds,
                connections=args.connections,
                tokens=[],
                products=[],
            )
            r = run_wrk(
                port=args.port,
                kind=kind,
                seconds=args.seconds,
                connections=args.connections,
                tokens=tokens,
                products=products,
            )
            pairs[label].append((r, bare))
            wait_until_idle(args.port)
            # The next bare-view run must not share the cores with this run's outbox work (a checkout run leaves
            # seconds of emails and payouts queued): it would run slow and flatter the next write's ratio.
            wait_until_worker_idle(worker_pid)
            log(
                f"{spec.label} round {round_no + 1}: {label} {r['rps']:.0f} req/s beside bare {bare['rps']:.0f} "
                f"({100 * r['rps'] / bare['rps']:.1f} %), p99 {r['p99']:.0f} ms, {r['errors']} errors"
            )
    for label, runs in pairs.items():
        ordered = sorted(runs, key=lambda pair: pair[0]["rps"] / pair[1]["rps"])
        entry["saturation"][label] = ordered[len(ordered) // 2]


def _brief(result: dict) -> str:
    return "; ".join(
        f"{label} n={r['n']} p50/p95/p99 {r['p50']:.0f}/{r['p95']:.0f}/{r['p99']:.0f} ms {r['statuses']}"
        for label, r in result.items()
    )


def print_report(args, report: list[dict]) -> None:
    print()
    print(
        f"bench-writes on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: {os.cpu_count()} cores shared by "
        f"server, Celery worker, PostgreSQL, Redis and the load generators; load average "
        f"{', '.join(f'{v:.1f}' for v in os.getloadavg())}"
    )
    if any(e["cpu"] for e in report):
        print(
            "\nCPU per request, one request at a time (/proc utime+stime of the gunicorn workers, the PostgreSQL "
            "backends of the bench database and the Celery worker; steadier than req/s on a shared machine; a "
            "backend that starts and ends between the samples is missing from the database column: the last column "
            "counts the sessions opened per request)"
        )
        print(
            "| server | request | n | web CPU ms | database CPU ms | worker CPU ms | total CPU ms | x bare | wall ms "
            "| new PostgreSQL sessions |"
        )
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for e in report:
            bare_total = None
            for label, r in e["cpu"].items():
                total = r["web"] + r["database"] + r["worker"]
                bare_total = bare_total or total
                print(
                    f"| {e['server']} | {label} | {r['n']} | {r['web']:.2f} | {r['database']:.2f} | "
                    f"{r['worker']:.2f} | {total:.2f} | {total / bare_total:.1f} | {r['wall_ms']:.1f} "
                    f"| {r['sessions']:.2f} |"
                )
    if any(e["saturation"] for e in report):
        print(
            f"\nSaturation (wrk, {args.connections} connections; each write run {args.seconds} s beside a bare-view "
            f"run of {args.bare_seconds} s just before it; median of {args.rounds} rounds by ratio; production "
            f"profile; checkout carts: one stocked listing from each of 3 shops; goals: add-to-cart >= 15 %, "
            f"checkout >= 5 % of the bare view)"
        )
        print("| server | write | req/s | paired bare req/s | % of bare | goal | p50 ms | p95 ms | p99 ms | errors |")
        print("|---|---|---:|---:|---:|:--:|---:|---:|---:|---:|")
        goals = {"add-to-cart": 15.0, "checkout (3 shops)": 5.0}
        for e in report:
            for label, (r, b) in e["saturation"].items():
                ratio = 100 * r["rps"] / b["rps"]
                met = "met" if ratio >= goals[label] else f"NO (>= {goals[label]:g} %)"
                print(
                    f"| {e['server']} | {label} | {r['rps']:.0f} | {b['rps']:.0f} | {ratio:.1f} % | {met} "
                    f"| {r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} | {r['errors']} |"
                )
    if any(e["open"] for e in report):
        print(
            f"\nOpen loop ({args.open_seconds} s per run; latency from the scheduled send; SLO p99: add-to-cart "
            f"{SLO_P99_MS['add']:.0f} ms, checkout {SLO_P99_MS['checkout']:.0f} ms; a slow-card checkout waits for "
            f"the payment timeout by design and has no SLO)"
        )
        print("| server | run | request | rate/s | n | p50 ms | p95 ms | p99 ms | statuses | within SLO |")
        print("|---|---|---|---:|---:|---:|---:|---:|---|:--:|")
        for e in report:
            for run, result in e["open"].items():
                m = float(run.split("x")[0])
                for label, r in result.items():
                    kind = "add" if label == "add" else "checkout"
                    rate = PEAK[kind] * m * ((1 - 1 / args.slow_every) if "slow" in run and kind == "checkout" else 1)
                    if "slow card" in label:
                        rate, within = PEAK[kind] * m / args.slow_every, "–"
                    else:
                        ok = r["p99"] <= SLO_P99_MS[kind] and all(str(s).startswith("2") for s in r["statuses"])
                        within = "yes" if ok else "NO"
                    print(
                        f"| {e['server']} | {run} | {label} | {rate:g} | {r['n']} | {r['p50']:.1f} | {r['p95']:.1f} | "
                        f"{r['p99']:.1f} | {r['statuses']} | {within} |"
                    )
    print("\n" + json.dumps(report, default=str))


if __name__ == "__main__":
    sys.exit(main())
