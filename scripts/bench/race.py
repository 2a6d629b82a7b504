"""bench_load's race: buyers who each sign in, add a listing (most often a unique one) to their cart and check
out through the HTTP API, in a loop until the time is up, some retrying a checkout with its Idempotency-Key;
the tally of what they were answered; the server they race on (gunicorn on a free loopback port).

    POST /api/v1/auth/token (once) -> POST /api/v1/cart/items -> POST /api/v1/checkout (Idempotency-Key)
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from bench.seeds import SHIPPING_ADDRESS, bench_category, create_listings, open_shops
from bench.servers import GUNICORN, free_port, start_server

PASSWORD = "bench-load-password-7"
PAYMENT_METHOD = "pm_card_visa"  # the test provider's succeeding payment method


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
class RaceSeed:
    buyers: list[str]
    unique_ids: list[int]
    stocked_ids: list[int]
    initial_stock: dict[int, int]


def seed(
    *, shops: int = 4, unique: int = 40, stocked: int = 4, stock: int = 30, buyers: int = 16, tag: str | None = None
) -> RaceSeed:
    """Create shops, listings and buyers through the services (call with Django set up)."""
    from accounts.models import User

    tag = tag or uuid.uuid4().hex[:6]
    category = bench_category("bench-load", "Bench load")
    shop_rows = open_shops(tag=tag, count=shops, password=PASSWORD)
    unique_rows = create_listings(
        shops=shop_rows,
        category=category,
        title="One of a kind bowl",
        count=unique,
        price=lambda i: Decimal("10.00") + Decimal(i % 7),
        quantity=1,
    )
    stocked_rows = create_listings(
        shops=shop_rows,
        category=category,
        title="Stocked mug",
        count=stocked,
        price=lambda i: Decimal("7.50"),
        quantity=stock,
    )
    emails = []
    for i in range(buyers):
        email = f"buyer-{tag}-{i}@bench.test"
        User.objects.create_user(email, PASSWORD)
        emails.append(email)
    return RaceSeed(
        buyers=emails,
        unique_ids=[p.pk for p in unique_rows],
        stocked_ids=[p.pk for p in stocked_rows],
        initial_stock={**{p.pk: 1 for p in unique_rows}, **{p.pk: stock for p in stocked_rows}},
    )


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


def _buyer_loop(base_url: str, email: str, data: RaceSeed, deadline: float, tally: Tally, rng: random.Random) -> None:
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
        payload = {"address": SHIPPING_ADDRESS, "payment_method": PAYMENT_METHOD}
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


def drive(*, base_url: str, data: RaceSeed, duration: float, concurrency: int, seed_value: int = 7) -> Tally:
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


# --- Server --------------------------------------------------------------------------------------
def start_gunicorn(*, database_url: str, workers: int, log_path: Path, extra_env: dict | None = None):
    """Start gunicorn (etsy/gunicorn.conf.py) on a free loopback port; return (process, base_url).

    Raises ServerFailed (a RuntimeError) when it exits or does not answer within 90 s.
    """
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
    process = start_server(GUNICORN, env=env, port=port, log_path=log_path, ready_path="/api/v1/categories")
    return process, f"http://127.0.0.1:{port}"
