#!/usr/bin/env python
"""Load with contention: many buyers race for unique items through the HTTP API, then the books are checked.

``make bench-load`` (defaults: 60 s, 24 buyers, gunicorn with 4 workers) creates a database of its own
(``<DATABASE_URL name>_bench_load``; with ``--products N``, ``..._bench_load_<N>`` holding N demo listings
beside the race, loaded once), migrates it, seeds shops, unique items and a few stocked ones,
starts a multi-worker gunicorn on a loopback port, and lets each buyer thread loop until the time is up:

    POST /api/v1/auth/token (once) -> POST /api/v1/cart/items -> POST /api/v1/checkout (Idempotency-Key)
    (sometimes the same checkout is sent again with the same key: it must replay, never buy twice)

Afterwards sellers refund some orders (partly or fully) and the books must balance: units sold = stock
decrements = order item quantities, charges = sellers' transfers + marketplace fees + refunds to the cent
(payments ledger; refunds = what the provider refunded), no negative
stock, no unique item sold twice, no duplicate order per checkout and shop, every successful answer is
one paid checkout, no reservation held past its window, and the test payment provider's ledger (Redis)
holds exactly the paid checkouts' totals. Prints attempts, orders, conflicts and latency percentiles
(JSON with --json). Exit status 1 when a check fails. Loopback only; every loop is bounded by the clock.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid

from bench import ROOT
from bench.autoanalyze import AutoAnalyze
from bench.books import check_books, refund_some, settle_outbox, summary
from bench.databases import bench_database_url, database_name, ensure_database, web_suffix
from bench.race import drive, seed, start_gunicorn
from bench.servers import stop


def log(msg: str) -> None:
    print(f"bench-load: {msg}", flush=True)


def _ensure_catalog(products: int) -> float | None:
    """Load ``products`` demo listings beside the bench's own once (later runs reuse them); return seconds taken."""
    from django.core.management import call_command

    from catalog.models import Product

    if not products or Product.objects.exclude(category__slug="bench-load").count() >= products:
        return None
    log(f"loading {products:,} demo listings (once; later runs reuse them)")
    started = time.monotonic()
    call_command("load_demo_catalog", products=products, shops=500, seed=7)
    return time.monotonic() - started


def _bench_web_database(products: int) -> str | None:
    """The name of ``make bench-web``'s database of ``products`` listings (scripts/bench_web.py)."""
    return database_name(bench_database_url(web_suffix(products))) if products else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--buyers", type=int, default=24, help="concurrent buyer threads")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--unique", type=int, default=60, help="unique items to race for")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--products", type=int, default=0, help="demo listings beside the race (own database per size, loaded once)"
    )
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    database_url = bench_database_url(f"_bench_load_{args.products}" if args.products else "_bench_load")
    ensure_database(database_url, template=_bench_web_database(args.products), log=log)
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "etsy.settings")
    os.environ["CACHE_KEY_PREFIX"] = f"benchload-{uuid.uuid4().hex[:8]}"  # a ledger of this run only
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"
    os.environ.setdefault("LOG_LEVEL", "WARNING")  # keep the report readable
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    loaded_in = _ensure_catalog(args.products)
    data = seed(unique=args.unique, buyers=max(args.buyers, 8))
    log_path = ROOT / ".data" / "bench_load_gunicorn.log"
    log_path.parent.mkdir(exist_ok=True)
    process, base_url = start_gunicorn(database_url=database_url, workers=args.workers, log_path=log_path)
    try:
        with AutoAnalyze(database_url, log=log):  # the statistics autovacuum keeps in production
            tally = drive(base_url=base_url, data=data, duration=args.duration, concurrency=args.buyers)
    finally:
        stop(process)
    refunds = refund_some(data=data)
    settle_outbox()
    books = check_books(data=data, tally=tally)
    report = summary(tally=tally, books=books, duration=args.duration, workers=args.workers, concurrency=args.buyers)
    report["refunded_orders"] = refunds
    try:
        from django.core.cache import caches

        caches["strict"].delete_pattern("*")
    except Exception:
        pass
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"bench-load: {args.buyers} buyers, {args.workers} gunicorn workers, {args.duration:g} s")
        if args.products:
            from catalog.models import Product

            loaded = f", loaded in {loaded_in:.0f} s" if loaded_in is not None else ""
            print(f"  catalog: {Product.objects.count():,} listings{loaded}")
        print(f"  refunds by sellers after the run: {refunds} orders (partial and full)")
        print(
            f"  attempts {report['attempts']}  checkouts {report['checkouts']}  orders {report['orders']}  "
            f"conflicts {report['conflicts']}  replays {report['replays']}  5xx {report['errors_5xx']}"
        )
        for kind, figures in report["latency_ms"].items():
            print(
                f"  {kind:16s} n={figures['n']:5d}  p50 {figures['p50']:7.1f} ms  p95 {figures['p95']:7.1f} ms  "
                f"p99 {figures['p99']:7.1f} ms"
            )
        for name, result in report["books"].items():
            print(f"  [{'ok' if result['ok'] else 'FAIL'}] {name}: {result['detail']}")
        if report["unexpected"]:
            print(f"  unexpected answers: {report['unexpected']}")
    return 0 if report["books_balanced"] else 1


if __name__ == "__main__":
    sys.exit(main())
