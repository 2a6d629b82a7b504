"""What one warm ``POST /api/v1/cart/items`` costs, one request at a time: CPU here and in PostgreSQL, queries,
Redis round trips.

Noise-resistant figures beside ``make bench-writes`` (whose CPU phase uses each of its 200 buyers' tokens once or
twice, so it measures mostly cold tokens): the production settings ``scripts/bench_writes.py`` gives gunicorn,
the WSGI application called in this process (every middleware, DRF, the after-commit work), stocked listings
and a few buyers with API tokens, a warm-up, then per add:

* CPU of this process (``time.process_time``: every thread, the near cache's listener included) and of its
  PostgreSQL backend (``/proc/<pid>/stat``: the parse, plan and execution of every statement);
* SQL queries (Django's query log: BEGIN/COMMIT not included) and Redis round trips of the request thread
  (each command or pipeline sent is one), and the statements and commands of one add.

    DATABASE_URL=postgres://.../etsy_x .venv/bin/python scripts/profile_add_to_cart.py --adds 600 --passes 3

Seeds its listings and buyers in the database of ``DATABASE_URL`` (migrated) on the first run and reuses them
(found by their names). Run it from two code trees in turn (``git worktree``) for a paired before/after.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

from production_profile import (
    WRITE_PATH_SETTINGS,
    backend_cpu_seconds,
    loopback_production_env,
    post_json,
    record_redis_commands,
)

ROOT = Path(__file__).resolve().parent.parent
SEED_TAG = "profile-add"


def configure() -> None:
    os.environ.update(loopback_production_env(**WRITE_PATH_SETTINGS))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "etsy.settings")
    sys.path.insert(0, str(ROOT))


def seed(*, buyers: int, listings: int) -> tuple[list[int], list[str]]:
    """Stocked listings (a million units each) and buyers with API tokens, made once and found again."""
    from decimal import Decimal

    from rest_framework.authtoken.models import Token

    from accounts.models import User
    from catalog.models import Category, Product
    from catalog.services.listings import create_product
    from shops.services import open_shop

    products = list(
        Product.objects.filter(title__startswith=f"{SEED_TAG} mug").order_by("pk").values_list("pk", flat=True)
    )
    tokens = list(
        Token.objects.filter(user__email__startswith=f"{SEED_TAG}-buyer")
        .order_by("user_id")
        .values_list("key", flat=True)
    )
    if len(products) >= listings and len(tokens) >= buyers:
        return products[:listings], tokens[:buyers]
    category, _ = Category.objects.get_or_create(slug=SEED_TAG, defaults={"name": "Profile add"})
    tag = secrets.token_hex(3)
    shops = [
        open_shop(
            owner=User.objects.create_user(f"{SEED_TAG}-seller-{tag}-{i}@bench.test", "x-bench-7"), name=f"P {tag} {i}"
        )
        for i in range(5)
    ]
    products = [
        create_product(
            shop=shops[i % 5], title=f"{SEED_TAG} mug {i}", category=category, price=Decimal("7.50"), quantity=10**6
        ).pk
        for i in range(listings)
    ]
    users = [User.objects.create_user(f"{SEED_TAG}-buyer-{tag}-{i}@bench.test", "x-bench-7") for i in range(buyers)]
    return products, [Token.objects.create(user=user).key for user in users]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--adds", type=int, default=600, help="adds per pass")
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--buyers", type=int, default=50)
    parser.add_argument("--listings", type=int, default=20)
    args = parser.parse_args()
    configure()

    from django.db import connection

    from etsy.wsgi import application

    products, tokens = seed(buyers=args.buyers, listings=args.listings)
    redis_sent = record_redis_commands()

    def add(i: int) -> str:
        body = {"product_id": products[(i * 7919) % len(products)], "quantity": 1}
        return post_json(application, "/api/v1/cart/items", body, HTTP_AUTHORIZATION=f"Token {tokens[i % len(tokens)]}")

    for i in range(4 * len(tokens)):  # each token kept (on its second read) with its account, prepared statements
        add(i)
        if i == len(tokens):
            time.sleep(0.2)  # the markers' invalidation messages arrive
    here, there, statuses = [], [], {}
    for _ in range(args.passes):
        started_db, started = backend_cpu_seconds(), time.process_time()
        for i in range(args.adds):
            status = add(1000 + i)
            statuses[status] = statuses.get(status, 0) + 1
        here.append(1000 * (time.process_time() - started) / args.adds)
        there.append(1000 * (backend_cpu_seconds() - started_db) / args.adds)

    queries: list[str] = []

    def logging_query(execute, sql, params, many, context):
        queries.append(" ".join(sql.split())[:110])
        return execute(sql, params, many, context)

    redis_sent.clear()
    n = 20
    with connection.execute_wrapper(logging_query):
        for i in range(n):
            add(5000 + i)
    print(f"add-to-cart, {args.adds} warm adds x {args.passes} passes, {len(tokens)} buyers: {statuses}")
    print(f"  CPU here       ms/add: median {statistics.median(here):.2f}, least {min(here):.2f}")
    print(f"  CPU PostgreSQL ms/add: median {statistics.median(there):.2f}, least {min(there):.2f}")
    print(f"  queries/add {len(queries) / n:.2f} (BEGIN/COMMIT not logged)")
    print(f"  Redis round trips/add {len(redis_sent) / n:.2f}")
    for sql in queries[: len(queries) // n]:
        print(f"    SQL   {sql}")
    for command in redis_sent[: len(redis_sent) // n]:
        print(f"    Redis {command[:90]!r}")


if __name__ == "__main__":
    main()
