#!/usr/bin/env python
"""The write path under load: add-to-cart and a 3-shop checkout beside the bare view (``make bench-writes``).

1. A database of its own (``<DATABASE_URL name>_bench_writes``): 60 shops, 120 stocked listings (a million
   units each, so stock never runs out), unique listings, buyers with API tokens, and before each checkout
   run a pool of buyers whose carts already hold one listing from each of three shops.
2. The server as production runs it (``etsy/gunicorn.conf.py``, ``ETSY_ENV=production``, DEBUG off) and one
   Celery worker on queues of this run's own (the outbox work of a checkout runs there, as in production).
   While the server's autovacuum is off (this kind of machine), the bench analyzes and vacuums its tables by
   autovacuum's own rule every 10 s (``bench.autoanalyze``): the orders, items, ledger and outbox it fills from
   nothing would otherwise be read through plans guessed without statistics.
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
import os
import random
import secrets
import signal
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from bench import BIN, ROOT
from bench.autoanalyze import AutoAnalyze
from bench.databases import bench_database_url, delete_redis_keys, ensure_database
from bench.report import WRITE_PEAK, median_pair, print_writes_report
from bench.seeds import WritePathSeed, fill_carts, seed_write_path
from bench.servers import (
    GUNICORN,
    ServerFailed,
    machine_ticks,
    refuse_port_in_use,
    start_process,
    steal_share,
    stop,
    wait_until_answering,
    wait_until_idle,
    wait_until_quiet,
)
from bench.write_load import cpu_per_request, open_loop, saturate
from production_profile import WRITE_PATH_SETTINGS, loopback_production_env

METRICS_TOKEN = secrets.token_urlsafe(32)


def log(msg: str) -> None:
    print(f"[bench-writes] {msg}", flush=True)


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
        self.web = self.worker = None

    def start(self) -> None:
        command = GUNICORN
        if self.spec.asgi:  # what etsy/gunicorn.conf.py does for gunicorn: the metrics directory must exist
            Path(self.env["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)
            command = [str(BIN / "uvicorn"), "etsy.asgi:application", "--host", "127.0.0.1", "--port", str(self.port)]
            command += ["--workers", str(self.spec.workers), "--log-level", "warning", "--no-access-log"]
        web_log = ROOT / ".data" / "bench_writes_web.log"
        worker_env = {k: v for k, v in self.env.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
        worker_env["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"  # sellers' emails go nowhere
        try:
            refuse_port_in_use(self.port)
            self.web = start_process(command, env=self.env, log_path=web_log)
            # The worker boots while the server does: still booting, it would add its start-up to the CPU phase.
            self.worker = start_process(
                [str(BIN / "celery"), "-A", "etsy", "worker", "-P", "solo", "--loglevel", "WARNING", "-Q", self.queues],
                env=worker_env,
                log_path=ROOT / ".data" / "bench_writes_worker.log",
            )
            wait_until_answering(self.web, port=self.port, log_path=web_log)
        except ServerFailed as exc:
            raise SystemExit(str(exc)) from None

    def stop(self) -> None:
        stop(self.web, self.worker)


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
    db_url = bench_database_url("_bench_writes")
    ensure_database(db_url)
    os.environ["DATABASE_URL"] = db_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "etsy.settings")
    prefix = f"benchwrites-{uuid.uuid4().hex[:6]}"
    os.environ["CACHE_KEY_PREFIX"] = prefix
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    (ROOT / ".data").mkdir(exist_ok=True)
    data = seed_write_path(checkout_buyers=args.checkout_buyers, add_buyers=200)
    rng = random.Random(7)
    skip = set(filter(None, args.skip.split(",")))
    multipliers = [float(m) for m in args.multipliers.split(",") if m]
    report = []
    with AutoAnalyze(db_url, log=log):  # the statistics autovacuum keeps in production
        for spec in [ServerSpec.parse(s) for s in args.servers.split(",")]:
            stack = Stack(spec, db_url=db_url, port=args.port, prefix=prefix, suffix=f"-{prefix}")
            log(f"{spec.label}: {spec.workers} workers x {spec.threads} threads; Celery worker on {stack.queues}")
            entry = {"server": spec.label, "cpu": {}, "saturation": {}, "open": {}}
            try:
                stack.start()
                if "cpu" not in skip:
                    fill_carts(data, rng=rng)
                    entry["cpu"] = cpu_per_request(
                        port=args.port,
                        web_pid=stack.web.pid,
                        worker_pid=stack.worker.pid,
                        db_url=db_url,
                        data=data,
                        count=args.cpu_requests,
                    )
                    log(f"{spec.label} CPU per request: {entry['cpu']}")
                if "saturation" not in skip:
                    run_saturation(args, spec, data, rng, entry, worker_pid=stack.worker.pid)
                if "open" not in skip:
                    for m in multipliers:
                        entry["open"][f"{m:g}x"] = r = run_open_loop(args, data, rng, m)
                        log(f"{spec.label} open loop {m:g}x: {_brief(r)}")
                if "slow" not in skip and args.slow_every:
                    m = multipliers[0]
                    r = run_open_loop(args, data, rng, m, slow_every=args.slow_every)
                    entry["open"][f"{m:g}x, 1 checkout in {args.slow_every} on pm_card_timeout"] = r
                    log(f"{spec.label} slow card: {_brief(r)}")
            finally:
                stack.stop()
            report.append(entry)
    print_writes_report(args, report)
    # This run's cache keys and what is left in its Celery queues (they name the prefix).
    delete_redis_keys(settings.REDIS_URL, f"*{prefix}*")
    return 0


def run_open_loop(args, data: WritePathSeed, rng: random.Random, multiplier: float, *, slow_every: int = 0) -> dict:
    """Add-to-cart and checkout at ``multiplier`` times the local peak, once the server is idle and carts full."""
    wait_until_idle(args.port)
    fill_carts(data, rng=rng)
    ticks = machine_ticks()
    result = open_loop(
        port=args.port,
        data=data,
        add_rate=WRITE_PEAK["add"] * multiplier,
        checkout_rate=WRITE_PEAK["checkout"] * multiplier,
        seconds=args.open_seconds,
        slow_every=slow_every,
    )
    log(f"open loop {multiplier:g}x: {steal_share(ticks, machine_ticks()):.1f} % of the CPU stolen during it")
    return result


def run_saturation(
    args, spec: ServerSpec, data: WritePathSeed, rng: random.Random, entry: dict, *, worker_pid: int
) -> None:
    products = sorted(data.stocked)
    pairs: dict[str, list] = {"add-to-cart": [], "checkout (3 shops)": []}
    for round_no in range(args.rounds):
        fill_carts(data, rng=rng)
        for label, kind, tokens in (
            ("add-to-cart", "add", data.add_tokens),
            ("checkout (3 shops)", "checkout", data.checkout_tokens),
        ):
            ticks = machine_ticks()
            bare = saturate(
                port=args.port,
                kind="bare",
                seconds=args.bare_seconds,
                connections=args.connections,
                tokens=[],
                products=[],
            )
            r = saturate(
                port=args.port,
                kind=kind,
                seconds=args.seconds,
                connections=args.connections,
                tokens=tokens,
                products=products,
            )
            r["steal"] = steal_share(ticks, machine_ticks())  # over the pair: its bare run and its write run
            pairs[label].append((r, bare))
            wait_until_idle(args.port)
            # The next bare-view run must not share the cores with this run's outbox work (a checkout run leaves
            # seconds of emails and payouts queued): it would run slow and flatter the next write's ratio.
            if not wait_until_quiet(worker_pid):
                log("the Celery worker was still busy after the wait; the next bare-view run shares the cores with it")
            log(
                f"{spec.label} round {round_no + 1}: {label} {r['rps']:.0f} req/s beside bare {bare['rps']:.0f} "
                f"({100 * r['rps'] / bare['rps']:.1f} %), p99 {r['p99']:.0f} ms, {r['errors']} errors, "
                f"{r['steal']:.1f} % of the CPU stolen"
            )
    for label, runs in pairs.items():
        entry["saturation"][label] = median_pair(runs)


def _brief(result: dict) -> str:
    return "; ".join(
        f"{label} n={r['n']} p50/p95/p99 {r['p50']:.0f}/{r['p95']:.0f}/{r['p99']:.0f} ms {r['statuses']}"
        for label, r in result.items()
    )


if __name__ == "__main__":
    sys.exit(main())
