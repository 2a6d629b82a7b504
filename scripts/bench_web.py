#!/usr/bin/env python
"""Page latency and throughput under concurrent load, beside a bare Django view (``make bench-web``).

1. Loads the demo catalog (default 100,000 listings) into its own database per size
   (``<DATABASE_URL name>_bench`` for 100,000, ``<name>_bench_<N>`` for other sizes; reused when it
   already holds that many listings, so a 1M catalog is loaded once). ``--products 10000,100000,1000000``
   runs every size in turn and prints each page's ratio side by side, with load time, database and
   index sizes; ``--reuse`` refuses to load (fails when a size is missing); ``--copy-from 100000``
   builds a missing larger size as copies of the 100,000-listing database, in SQL (``copy_catalog``).
2. Serves the app the way production does: gunicorn with ``etsy/gunicorn.conf.py``,
   several sync workers, ``ETSY_ENV=production`` (DEBUG off, hashed static files), on a
   loopback port, with the ``/bench/bare`` ceiling view switched on (BENCH_BARE_VIEW=1).
3. Saturation: for each page, ``wrk`` (Debian's package, installed here when missing)
   drives a bounded number of keep-alive connections for a fixed time over many distinct
   URLs (1,000 products, every category with sorts and pages, 40 searches), after each
   URL was requested once (the steady state: pages cached). Each page run is paired with
   a bare-view run just before it (the machine is shared, so throughput drifts); the
   table shows p50/p95/p99, requests/s and the ratio within the pair, median of rounds.
4. SLOs: an open-loop generator sends each page at ten times the documents' local peak
   rate (product 100/s, search 50/s, home 30/s, cart 10/s) and reports latency measured
   from the scheduled send time (no coordinated omission) against the SLO table.

Only loopback traffic; every loop is bounded in requests and time; the server is stopped at the end.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import PYTHON, ROOT
from bench.counters import counter_deltas, cpu_per_request, server_counters
from bench.databases import (
    base_database_url,
    bench_database_url,
    copy_catalog,
    count_listings,
    database_name,
    database_sizes,
    delete_redis_keys,
    drop_database,
    ensure_database,
    known_load_time,
    read_stack_env,
    remember_load_time,
    web_suffix,
)
from bench.drivers import ensure_wrk, run_python_load, run_wrk
from bench.pages import signed_in_buyer, url_sets, warm_every_url
from bench.report import PAGE_SLO, megabytes, print_page_tables, print_side_by_side
from bench.servers import GUNICORN, ServerFailed, machine_ticks, start_server, steal_share, stop
from production_profile import loopback_production_env

METRICS_TOKEN = secrets.token_urlsafe(32)  # the production profile requires one (etsy.checks)

# wrk's requests: the run's URLs in a fixed stride, with the signed-in buyer's cookie when there is one.
WRK_REQUEST_LUA = r"""
local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do paths[#paths + 1] = line end
local cookie = os.getenv("BENCH_COOKIE") or ""
local n = 0
setup = function(thread) math.randomseed(os.time()) end
request = function()
  n = n + 1
  local path = paths[((n * 7919) % #paths) + 1]
  if cookie ~= "" then return wrk.format("GET", path, {["Cookie"] = cookie}) end
  return wrk.format("GET", path)
end
"""


def log(msg: str) -> None:
    print(f"[bench-web] {msg}", flush=True)


def manage(env: dict, *args: str, quiet: bool = False) -> None:
    subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL if quiet else None
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--products",
        default="100000",
        help="listings; several sizes comma-separated (10000,100000,1000000) run in turn, compared at the end",
    )
    parser.add_argument("--shops", type=int, default=500)
    parser.add_argument("--reuse", action="store_true", help="never load: each size's database must be there")
    parser.add_argument(
        "--copy-from",
        type=int,
        default=0,
        help="build a missing larger size as copies of this size's database, in SQL (e.g. 1M as ten copies of "
        "100k: minutes where the generator takes an hour or more on a shared machine)",
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=10, help="measured seconds per page")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up seconds per page (fills the caches)")
    parser.add_argument("--slo-seconds", type=int, default=10)
    parser.add_argument("--no-slo", action="store_true", help="skip the open-loop SLO runs")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; each page reports its median round")
    parser.add_argument("--bare-seconds", type=int, default=4, help="bare-view run paired with each page run")
    parser.add_argument("--rewarm", action="store_true", help="request every URL again right before each page run")
    parser.add_argument("--pages", default="", help="comma-separated subset: home,category,search,product,cart")
    parser.add_argument(
        "--round-every",
        type=float,
        default=0,
        help="start each round this many seconds after the previous one (from the end of the warm-up), so the "
        "rounds of a page subset meet the expiry where the whole set's would: --pages category --round-every 130 "
        "puts its round 3 some 260 s after its warm-up, as in a full run",
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--python-load", action="store_true", help="use the Python load generator, not wrk")
    args = parser.parse_args()
    # Stopped from outside (kill, CI timeout): unwind, so each size's gunicorn is stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sizes = [int(n.replace("_", "")) for n in str(args.products).split(",") if n.strip()]

    started = time.monotonic()
    results = {}
    for products in sizes:
        results[products] = bench_one_size(args, products)
    if len(sizes) > 1:
        print_side_by_side(results)
    log(f"whole run {time.monotonic() - started:.0f} s")
    return 0


def bench_one_size(args, products: int) -> dict:
    base_env = {**read_stack_env(), **os.environ}
    base_db = base_database_url()
    db_url = base_env.get("BENCH_DATABASE_URL") or bench_database_url(web_suffix(products), base_db)
    redis_url = base_env.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    prefix = "benchweb"
    media = ROOT / ".data" / "bench_media"
    env = {
        **base_env,
        "DATABASE_URL": db_url,
        "CACHE_KEY_PREFIX": prefix,
        "MEDIA_ROOT": str(media),
        "CELERY_TASK_ALWAYS_EAGER": "true",
    }
    load_time, sizes = prepare_catalog(args, products, db_url=db_url, base_db=base_db, env=env)

    server_env = {
        **env,
        # Production's request logs (the environment's level, INFO unless set), not the profiles' warnings only.
        **loopback_production_env(
            METRICS_BEARER_TOKEN=METRICS_TOKEN,
            ALLOWED_HOSTS="127.0.0.1,localhost",
            LOG_LEVEL=env.get("LOG_LEVEL", "INFO"),
            PAYMENT_PROVIDER=env.get("PAYMENT_PROVIDER", "orders.payments.TestPaymentProvider"),
        ),
        "BENCH_BARE_VIEW": "1",
        "WEB_CONCURRENCY": str(args.workers),
        "PORT": str(args.port),
        "HOST": "127.0.0.1",
        "WEB_MAX_REQUESTS": "0",
        "PROMETHEUS_MULTIPROC_DIR": str(Path(tempfile.gettempdir()) / f"etsy-bench-prom-{args.port}"),
    }
    static_env = {k: v for k, v in server_env.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    manage(static_env, "collectstatic", "--no-input", "-v", "0", quiet=True)
    delete_redis_keys(redis_url, f"{prefix}:*")
    wrk = None if args.python_load else ensure_wrk(log)

    log(f"starting gunicorn: {args.workers} workers on 127.0.0.1:{args.port} (ETSY_ENV=production, DEBUG off)")
    try:
        server = start_server(
            GUNICORN, env=server_env, port=args.port, log_path=ROOT / ".data" / "bench_web_server.log"
        )
    except ServerFailed as exc:
        raise SystemExit(str(exc)) from None
    try:
        summary = measure(args, products, db_url=db_url, server_pgid=server.pid, wrk=wrk)
    finally:
        stop(server)
    return {**summary, "load_time": load_time, "sizes": sizes}


def prepare_catalog(args, products: int, *, db_url: str, base_db: str, env: dict) -> tuple[str, dict]:
    """Make ``db_url`` hold ``products`` listings (reused, copied from ``--copy-from``'s size, or loaded) and
    migrated; return its load time as text and its sizes."""
    ensure_database(db_url, log=log)
    have = count_listings(db_url)
    if args.reuse and have != products:
        raise SystemExit(f"--reuse: {database_name(db_url)} holds {have} listings, not {products}")
    if have and have != products:
        log(f"bench database holds {have} listings, not {products}: recreating it")
        drop_database(db_url)
        ensure_database(db_url, log=log)
        have = 0
    copies = products // args.copy_from if args.copy_from and products % args.copy_from == 0 else 0
    if not have and copies > 1:
        source = bench_database_url(web_suffix(args.copy_from), base_db)
        if count_listings(source) != args.copy_from:
            raise SystemExit(f"--copy-from {args.copy_from}: load that size first")
        log(f"building {products:,} listings as {copies} copies of the {args.copy_from:,}-listing database")
        started = time.monotonic()
        copy_catalog(source, db_url, copies=copies, log=log)
        remember_load_time(db_url, time.monotonic() - started)
        have = count_listings(db_url)
        log(f"built in {time.monotonic() - started:.0f} s")
    manage(env, "migrate", "--no-input", "-v", "0")
    if not have:
        log(f"loading {products} demo listings (once; later runs reuse them)")
        started = time.monotonic()
        manage(env, "load_demo_catalog", "--products", str(products), "--shops", str(args.shops), "--seed", "7")
        import psycopg

        with psycopg.connect(db_url, autocommit=True) as conn:
            # Planner statistics, and the visibility map that lets counts read the indexes alone.
            conn.execute("VACUUM ANALYZE")
        remember_load_time(db_url, time.monotonic() - started)
        log(f"loaded in {time.monotonic() - started:.0f} s")
    loaded_in = known_load_time(db_url)
    load_time = f"{loaded_in // 60} min {loaded_in % 60} s" if loaded_in is not None else "not recorded"
    sizes = database_sizes(db_url)
    log(
        f"{products:,} listings in {database_name(db_url)}: loaded in {load_time}; database "
        f"{megabytes(sizes['database'])}, tables {megabytes(sizes['tables'])}, indexes {megabytes(sizes['indexes'])} "
        f"(largest: {', '.join(f'{name} {megabytes(n)}' for name, n in sizes['biggest'])})"
    )
    return load_time, sizes


def measure(args, products: int, *, db_url: str, server_pgid: int, wrk: str | None) -> dict:
    """Warm every page's URLs, run the paired rounds and print their tables, then the SLO runs (unless
    ``--no-slo``); return each page's median ratio and expiry ratio and the bare view's median."""
    urls = url_sets(db_url, 1000)
    buyer = signed_in_buyer(args.port, urls["product"], db_url)
    cookie = buyer.cookie_header
    scenarios = [
        ("bare view (ceiling)", "bare", ""),
        ("home, visitor", "home", ""),
        ("home, signed in", "home", cookie),
        ("category, visitor", "category", ""),
        ("search, visitor", "search", ""),
        ("product, visitor", "product", ""),
        ("product, signed in", "product", cookie),
        ("cart, signed in (3 items, 2+ shops)", "cart", cookie),
    ]

    if args.pages:
        wanted = set(args.pages.split(","))
        scenarios = [scenarios[0]] + [sc for sc in scenarios[1:] if sc[1] in wanted]

    def load(paths, seconds, cookie_):
        if wrk:
            return run_wrk(
                WRK_REQUEST_LUA,
                port=args.port,
                seconds=seconds,
                connections=args.connections,
                timeout_s=5,
                files={"BENCH_PATHS": "\n".join(paths) + "\n"},
                env={"BENCH_COOKIE": cookie_},
                wrk=wrk,
            )
        return run_python_load(args.port, paths, seconds=seconds, connections=args.connections, cookie=cookie_)

    def counters():
        return server_counters(args.port, db_url, metrics_token=METRICS_TOKEN, server_pgid=server_pgid)

    warmed_at: dict[str, float] = {}
    for _, kind, cookie_ in scenarios:
        warm_every_url(args.port, urls[kind], cookie_)
        warmed_at.setdefault(kind, time.monotonic())
        if args.warmup:
            load(urls[kind], args.warmup, cookie_)
    rounds_from = time.monotonic()
    # The machine is shared with other work, so throughput drifts from minute to minute:
    # each page run is paired with a bare-view run just before it, the ratio is taken
    # within the pair, and each page reports the median of its rounds.
    pairs: dict[str, list[tuple[dict, dict]]] = {label: [] for label, _, _ in scenarios[1:]}
    for round_no in range(args.rounds):
        if args.round_every:  # the rounds of a subset of pages meet its expiry when the whole set's would
            time.sleep(max(0.0, rounds_from + round_no * args.round_every - time.monotonic()))
        for label, kind, cookie_ in scenarios[1:]:
            ticks = machine_ticks()
            bare = load(urls["bare"], args.bare_seconds, "")
            if args.rewarm:  # every entry fresh, 30 s inventory counts included: the pure cache-hit path
                warm_every_url(args.port, urls[kind], cookie_)
            before = counters()
            run_started = time.monotonic()
            r = load(urls[kind], args.seconds, cookie_)
            after = counters()
            r["cpu_ms"] = cpu_per_request(before, after, r["requests"])
            r["steal"] = steal_share(ticks, machine_ticks())  # over the pair: its bare run and its page run
            pairs[label].append((r, bare))
            log(
                f"round {round_no + 1}: {label}: {r['rps']:.0f} req/s beside bare {bare['rps']:.0f} req/s "
                f"({100 * r['rps'] / bare['rps']:.1f} %), p99 {r['p99']:.1f} ms, "
                f"{r['cpu_ms']:.2f} ms of server and database CPU a request, {r['steal']:.1f} % of the CPU stolen, "
                f"{r['requests']} requests from {run_started - warmed_at[kind]:.0f} s after its URLs were "
                f"warmed; {counter_deltas(before, after)}"
            )
    summary = print_page_tables(args, products=products, engine="wrk" if wrk else "python", pairs=pairs)
    if not args.no_slo:
        slo_pages = (
            ("product", ""),
            ("product", cookie),
            ("search", ""),
            ("home", ""),
            ("home", cookie),
            ("cart", cookie),
        )
        run_slos(args, urls, [p for p in slo_pages if not args.pages or p[0] in args.pages.split(",")])
    return summary


def run_slos(args, urls: dict[str, list[str]], pages: list[tuple[str, str]]) -> None:
    """Each (page kind, cookie) in open loop at ten times its local peak rate, best of the rounds, against its SLO."""
    print()
    print(
        f"SLOs at ten times the documents' local peak rates (open loop, latency from the scheduled send, "
        f"{args.slo_seconds} s each, best of {args.rounds} rounds)"
    )
    print("| page | rate/s | p50 ms (SLO) | p95 ms (SLO) | p99 ms (SLO) | errors | within SLO |")
    print("|---|---:|---:|---:|---:|---:|:--:|")
    for kind, cookie in pages:
        slo = PAGE_SLO[kind]
        rate = slo["peak"] * 10
        runs = [
            run_python_load(args.port, urls[kind], seconds=args.slo_seconds, connections=8, cookie=cookie, rate=rate)
            for _ in range(args.rounds)
        ]
        r = min(runs, key=lambda run: (run["errors"], run["p99"]))  # the round least disturbed by neighbours
        ok = r["p50"] <= slo["p50"] and r["p95"] <= slo["p95"] and r["p99"] <= slo["p99"] and r["errors"] == 0
        who = "signed in" if cookie else "visitor"
        errors = f"{r['errors']} {r['statuses']}" if r["errors"] else "0"
        print(
            f"| {kind}, {who} | {rate} | {r['p50']:.1f} ({slo['p50']}) | {r['p95']:.1f} ({slo['p95']}) | "
            f"{r['p99']:.1f} ({slo['p99']}) | {errors} | {'yes' if ok else 'NO'} |"
        )


if __name__ == "__main__":
    sys.exit(main())
