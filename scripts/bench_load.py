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
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-load-password-7"
PAYMENT_METHOD = "pm_card_visa"  # the test provider's succeeding payment method
ADDRESS = {
    "name": "Load Buyer",
    "line1": "1 Bench Street",
    "line2": "",
    "city": "Hudson",
    "postcode": "12534",
    "country": "US",
}


# --- HTTP ----------------------------------------------------------------------------------------
def request(
    base_url: str,
    method: str,
    path: str,
    *,
    body=None,
    token: str | None = None,
    headers: dict | None = None,
    timeout: float = 30.0,
) -> tuple[int, dict, dict | None, float]:
    data = json.dumps(body).encode() if body is not None else None
    all_headers = {"Content-Type": "application/json", "Accept": "application/json", **(headers or {})}
    if token:
        all_headers["Authorization"] = f"Token {token}"
    req = urllib.request.Request(base_url + path, data=data, method=method, headers=all_headers)
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            status, raw, resp_headers = response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        status, raw, resp_headers = exc.code, exc.read(), dict(exc.headers)
    elapsed = time.perf_counter() - started
    try:
        payload = json.loads(raw) if raw else None
    except ValueError:
        payload = None
    return status, resp_headers, payload, elapsed


# --- Seed ----------------------------------------------------------------------------------------
@dataclass
class Seed:
    buyers: list[str]
    unique_ids: list[int]
    stocked_ids: list[int]
    initial_stock: dict[int, int]


def seed(
    *, shops: int = 4, unique: int = 40, stocked: int = 4, stock: int = 30, buyers: int = 16, tag: str | None = None
) -> Seed:
    """Create shops, listings and buyers through the services (call with Django set up)."""
    from accounts.models import User
    from catalog.models import Category
    from catalog.services.listings import create_product
    from shops.services import open_shop

    tag = tag or uuid.uuid4().hex[:6]
    category, _ = Category.objects.get_or_create(slug="bench-load", defaults={"name": "Bench load"})
    shop_rows = [
        open_shop(owner=User.objects.create_user(f"seller-{tag}-{i}@bench.test", PASSWORD), name=f"Bench {tag} {i}")
        for i in range(shops)
    ]
    unique_ids, stocked_ids, initial = [], [], {}
    for i in range(unique):
        product = create_product(
            shop=shop_rows[i % shops],
            title=f"One of a kind bowl {i}",
            category=category,
            price=Decimal("10.00") + Decimal(i % 7),
            quantity=1,
        )
        unique_ids.append(product.pk)
        initial[product.pk] = 1
    for i in range(stocked):
        product = create_product(
            shop=shop_rows[i % shops],
            title=f"Stocked mug {i}",
            category=category,
            price=Decimal("7.50"),
            quantity=stock,
        )
        stocked_ids.append(product.pk)
        initial[product.pk] = stock
    emails = []
    for i in range(buyers):
        email = f"buyer-{tag}-{i}@bench.test"
        User.objects.create_user(email, PASSWORD)
        emails.append(email)
    return Seed(buyers=emails, unique_ids=unique_ids, stocked_ids=stocked_ids, initial_stock=initial)


# --- Drive ---------------------------------------------------------------------------------------
@dataclass
class Tally:
    attempts: int = 0
    orders: int = 0
    checkouts_ok: int = 0
    replays: int = 0
    replay_mismatches: int = 0
    conflicts: int = 0
    errors_5xx: int = 0
    unexpected: Counter = field(default_factory=Counter)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, status: int, elapsed: float) -> None:
        with self.lock:
            self.latencies[kind].append(elapsed)
            if status >= 500:
                self.errors_5xx += 1
                self.unexpected[f"{kind}:{status}"] += 1

    def add(self, **counts) -> None:
        with self.lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)


def _buyer_loop(base_url: str, email: str, data: Seed, deadline: float, tally: Tally, rng: random.Random) -> None:
    status, _, body, elapsed = request(
        base_url, "POST", "/api/v1/auth/token", body={"email": email, "password": PASSWORD}
    )
    tally.record("token", status, elapsed)
    if status != 200:
        tally.unexpected[f"token:{status}"] += 1
        return
    token = body["token"]
    while time.monotonic() < deadline:
        hot = rng.random() < 0.75
        product_id = rng.choice(data.unique_ids if hot else data.stocked_ids)
        quantity = 1 if hot else rng.randint(1, 3)
        tally.add(attempts=1)
        status, _, body, elapsed = request(
            base_url, "POST", "/api/v1/cart/items", token=token, body={"product_id": product_id, "quantity": quantity}
        )
        tally.record("cart_add", status, elapsed)
        if status == 409:
            tally.add(conflicts=1)
            continue
        if status != 201:
            tally.unexpected[f"cart_add:{status}"] += 1
            continue
        key = str(uuid.uuid4())
        payload = {"address": ADDRESS, "payment_method": PAYMENT_METHOD}
        status, _, body, elapsed = request(
            base_url, "POST", "/api/v1/checkout", token=token, body=payload, headers={"Idempotency-Key": key}
        )
        tally.record("checkout", status, elapsed)
        if status == 201:
            tally.add(checkouts_ok=1, orders=len(body["orders"]))
            if rng.random() < 0.15:  # a client retry of the same request: replayed, never bought twice
                r_status, r_headers, r_body, r_elapsed = request(
                    base_url, "POST", "/api/v1/checkout", token=token, body=payload, headers={"Idempotency-Key": key}
                )
                tally.record("checkout_replay", r_status, r_elapsed)
                same = r_status == 201 and r_headers.get("Idempotent-Replayed") == "true" and r_body == body
                tally.add(replays=1, replay_mismatches=0 if same else 1)
        elif status in (409, 402):
            tally.add(conflicts=1)
            _empty_cart(base_url, token, tally)
        else:
            tally.unexpected[f"checkout:{status}"] += 1
            _empty_cart(base_url, token, tally)


def _empty_cart(base_url: str, token: str, tally: Tally) -> None:
    status, _, body, elapsed = request(base_url, "GET", "/api/v1/cart", token=token)
    tally.record("cart_get", status, elapsed)
    if status != 200:
        return
    for group in body.get("groups", []):
        for line in group.get("lines", []):
            s, _, _, e = request(base_url, "DELETE", f"/api/v1/cart/items/{line['id']}", token=token)
            tally.record("cart_remove", s, e)


def drive(*, base_url: str, data: Seed, duration: float, concurrency: int, seed_value: int = 7) -> Tally:
    """Run ``concurrency`` buyer threads for ``duration`` seconds; return the tally."""
    tally = Tally()
    deadline = time.monotonic() + duration
    buyers = [data.buyers[i % len(data.buyers)] for i in range(concurrency)]
    threads = [
        threading.Thread(
            target=_buyer_loop,
            args=(base_url, email, data, deadline, tally, random.Random(seed_value + i)),
            daemon=True,
        )
        for i, email in enumerate(buyers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=duration + 120)
    return tally


# --- Books ---------------------------------------------------------------------------------------
def check_books(*, data: Seed, tally: Tally) -> dict:
    """Return {check name: (ok, detail)} over the seeded listings (call with Django set up)."""
    from datetime import timedelta

    from django.conf import settings
    from django.core.cache import caches
    from django.db.models import Count, Sum
    from django.utils import timezone

    from cart.models import CartItem
    from catalog.models import Product
    from orders.models import Checkout, Order, OrderItem
    from orders.payments import TestPaymentProvider
    from shops.models import Shop

    ids = list(data.initial_stock)
    stock_now = dict(Product.objects.filter(pk__in=ids).values_list("pk", "quantity"))
    decrements = sum(data.initial_stock[pk] - stock_now[pk] for pk in ids)
    live_items = OrderItem.objects.filter(product_id__in=ids).exclude(order__status=Order.Status.CANCELLED)
    units_sold = live_items.aggregate(n=Sum("quantity"))["n"] or 0
    shop_sales = Shop.objects.filter(products__pk__in=ids).distinct().aggregate(n=Sum("sales_count"))["n"] or 0
    orders = Order.objects.filter(items__product_id__in=ids).distinct()
    checkouts = Checkout.objects.filter(orders__in=orders).distinct()
    paid = checkouts.filter(payment_status=Checkout.PaymentStatus.PAID)
    per_shop = (
        Order.objects.filter(pk__in=orders)
        .values("checkout_id", "shop_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    unique_oversold = (
        live_items.filter(product_id__in=data.unique_ids)
        .values("product_id")
        .annotate(n=Sum("quantity"))
        .filter(n__gt=1)
        .count()
    )
    now = timezone.now()
    window = timedelta(minutes=settings.RESERVATION_MINUTES, seconds=5)
    holds = CartItem.objects.filter(product_id__in=ids, reserved_until__gt=now)
    double_holds = holds.values("product_id").annotate(n=Count("id")).filter(n__gt=1).count()
    overlong_holds = holds.filter(reserved_until__gt=now + window).count()
    held_sold_out = holds.filter(product__quantity=0).count()

    provider = TestPaymentProvider()
    charged = Decimal("0")
    for checkout in paid:
        charge = provider.retrieve(idempotency_key=checkout.provider_idempotency_key)
        if charge is not None and charge.status == "succeeded":
            charged += charge.amount
    ledger_total = Decimal("0")
    strict = caches["strict"]
    prefix = "payments:test-provider:"
    for key in strict.keys(f"{prefix}*"):
        provider_key = key[len(prefix) :]
        if ":" in provider_key:  # refunds, transfers, reversals: not charges
            continue
        record = strict.get(key)
        if record and record.get("status") == "succeeded":
            checkout = Checkout.objects.filter(provider_idempotency_key=provider_key).first()
            if checkout is None or checkouts.filter(pk=checkout.pk).exists():
                ledger_total += Decimal(record["amount"])
    money = _money_books(orders=orders, charged=charged, provider_refunded=_provider_refunded(strict, checkouts))
    order_total = Order.objects.filter(pk__in=orders, status=Order.Status.PAID).aggregate(t=Sum("total"))[
        "t"
    ] or Decimal("0")
    return {
        "units sold = stock decrements": (units_sold == decrements, f"{units_sold} = {decrements}"),
        "shops' sales counts = units sold": (shop_sales == units_sold, f"{shop_sales} in {live_items.count()} lines"),
        "no negative stock": (min(stock_now.values()) >= 0, f"min {min(stock_now.values())}"),
        "no unique item sold twice": (unique_oversold == 0, f"{unique_oversold} oversold"),
        "one order per checkout and shop": (per_shop == 0, f"{per_shop} duplicates"),
        "each successful answer is one paid checkout": (
            paid.count() == tally.checkouts_ok,
            f"{paid.count()} paid, {tally.checkouts_ok} answers",
        ),
        "replays created nothing": (tally.replay_mismatches == 0, f"{tally.replays} replays"),
        "no reservation held past its window": (
            overlong_holds == 0 and double_holds == 0 and held_sold_out == 0,
            f"{overlong_holds} overlong, {double_holds} doubled, {held_sold_out} on sold-out items",
        ),
        "order totals = charges (provider ledger)": (
            order_total == charged == ledger_total,
            f"{order_total} = {charged} = {ledger_total}",
        ),
        "charges = transfers + fees + refunds (+ held), to the cent": money,
        "no 5xx": (tally.errors_5xx == 0, f"{tally.errors_5xx}"),
    }


def _provider_refunded(strict, checkouts) -> Decimal:
    """What the test provider refunded for these checkouts (its per-charge counters, in cents)."""
    client = strict.client.get_client(write=False)
    cents = 0
    for key in checkouts.values_list("provider_idempotency_key", flat=True):
        cents += int(client.get(strict.make_key(f"payments:test-provider:refunded:{key}")) or 0)
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def _money_books(*, orders, charged: Decimal, provider_refunded: Decimal) -> tuple[bool, str]:
    """Every cent charged went to a seller (transfers), to the marketplace (fees, net of fee refunds) or
    back to a buyer (refunds); whatever is neither is still held for a shop (no payout account yet)."""
    from django.db.models import Sum

    from payments.models import LedgerEntry

    def total(*kinds: str) -> Decimal:
        entries = LedgerEntry.objects.filter(order__in=orders, kind__in=kinds)
        return entries.aggregate(s=Sum("amount"))["s"] or Decimal("0")

    transfers = -total("payout")
    fees = -total("fee", "fee_refund")
    refunds = -total("refund")
    held = total("sale", "fee", "refund", "fee_refund", "dispute", "payout")
    ok = charged == transfers + fees + refunds + held and held >= 0 and refunds == provider_refunded
    return ok, f"{charged} = {transfers} + {fees} + {refunds} (+ {held} held); provider refunded {provider_refunded}"


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0}
    ordered = sorted(values)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)

    return {"p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99)}


def summary(*, tally: Tally, books: dict, duration: float, workers: int, concurrency: int) -> dict:
    return {
        "duration_s": duration,
        "server_workers": workers,
        "buyers": concurrency,
        "attempts": tally.attempts,
        "checkouts": tally.checkouts_ok,
        "orders": tally.orders,
        "conflicts": tally.conflicts,
        "replays": tally.replays,
        "errors_5xx": tally.errors_5xx,
        "unexpected": dict(tally.unexpected),
        "latency_ms": {kind: {"n": len(v), **percentiles(v)} for kind, v in sorted(tally.latencies.items())},
        "books": {name: {"ok": ok, "detail": detail} for name, (ok, detail) in books.items()},
        "books_balanced": all(ok for ok, _ in books.values()),
    }


# --- Server --------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(*, database_url: str, workers: int, log_path: Path, extra_env: dict | None = None):
    """Start gunicorn (etsy/gunicorn.conf.py) on a loopback port; return (process, base_url)."""
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "etsy.settings",
        "DATABASE_URL": database_url,
        "WEB_CONCURRENCY": str(workers),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "WARNING",
        "CELERY_TASK_ALWAYS_EAGER": "true",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "API_THROTTLE_ANON": "100000/min",
        "API_THROTTLE_USER": "100000/min",
        "API_THROTTLE_AUTH": "100000/min",
        **(extra_env or {}),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = open(log_path, "w")
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    process = subprocess.Popen(
        [gunicorn, "etsy.wsgi", "--config", "etsy/gunicorn.conf.py"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("gunicorn exited:\n" + log_path.read_text()[-3000:])
        try:
            status, _, _, _ = request(base_url, "GET", "/api/v1/categories", timeout=2)
            if status == 200:
                return process, base_url
        except OSError:
            pass
        time.sleep(0.3)
    stop_gunicorn(process)
    raise RuntimeError("gunicorn did not become ready:\n" + log_path.read_text()[-3000:])


def stop_gunicorn(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- Command line --------------------------------------------------------------------------------
def _bench_database_url(products: int = 0) -> str:
    import environ

    env = environ.Env()
    stack_env = ROOT / ".data" / "stack.env"
    if stack_env.exists():
        env.read_env(str(stack_env), overwrite=False)
    base = env.str("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/etsy")
    head, _, name = base.rpartition("/")
    suffix = f"_bench_load_{products}" if products else "_bench_load"
    return f"{head}/{name.split('?')[0]}{suffix}"


def _ensure_catalog(products: int) -> float | None:
    """Load ``products`` demo listings beside the bench's own once (later runs reuse them); return seconds taken."""
    from django.core.management import call_command

    from catalog.models import Product

    if not products or Product.objects.exclude(category__slug="bench-load").count() >= products:
        return None
    print(f"bench-load: loading {products:,} demo listings (once; later runs reuse them)", flush=True)
    started = time.monotonic()
    call_command("load_demo_catalog", products=products, shops=500, seed=7)
    return time.monotonic() - started


def _ensure_database(url: str, template: str | None = None) -> None:
    """Create the database unless it exists: a copy of ``template`` when that database exists and is idle
    (``make bench-web``'s catalog of the same size: copying files takes a minute, loading 1M listings half an hour)."""
    import psycopg

    head, _, name = url.rpartition("/")
    with psycopg.connect(f"{head}/postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return
        if template and conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [template]).fetchone():
            try:
                print(f"bench-load: copying {template} (make bench-web's catalog) into {name}", flush=True)
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
                return
            except psycopg.Error as exc:  # in use: load instead
                print(f"bench-load: could not copy {template} ({exc}); loading instead", flush=True)
        conn.execute(f'CREATE DATABASE "{name}"')


def _bench_web_database(products: int) -> str | None:
    """The name of ``make bench-web``'s database of ``products`` listings (scripts/bench_web.py)."""
    if not products:
        return None
    base = _bench_database_url().rpartition("/")[2].removesuffix("_bench_load")
    return f"{base}_bench" if products == 100_000 else f"{base}_bench_{products}"


def _refund_some(*, data: Seed) -> int:
    """Sellers refund some paid orders (a third of every third order, all of every fifth) so the money books
    cover refunds, fee refunds and transfer reversals too; no restock (the stock books stay as sold)."""
    from decimal import ROUND_DOWN

    from orders.models import Order
    from payments.services.refunds import refund_order

    orders = Order.objects.filter(items__product_id__in=list(data.initial_stock), status=Order.Status.PAID)
    count = 0
    for index, order in enumerate(orders.distinct().order_by("pk")):
        if index % 5 == 0:
            refund_order(order=order)
        elif index % 3 == 0:
            refund_order(order=order, amount=(order.total / 3).quantize(Decimal("0.01"), ROUND_DOWN))
        else:
            continue
        count += 1
    return count


def _settle_outbox() -> None:
    """Run what the outbox still holds (sellers' transfers, refunds) before the books are read."""
    from datetime import timedelta

    from django.utils import timezone

    from etsy.outbox import services as outbox_services

    for _ in range(3):
        if not outbox_services.relay_pending(now=timezone.now() + timedelta(minutes=10)):
            break


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
    database_url = _bench_database_url(args.products)
    _ensure_database(database_url, template=_bench_web_database(args.products))
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
        tally = drive(base_url=base_url, data=data, duration=args.duration, concurrency=args.buyers)
    finally:
        stop_gunicorn(process)
    refunds = _refund_some(data=data)
    _settle_outbox()
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
