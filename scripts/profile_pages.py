"""What one request of each hot page costs, one request at a time: CPU, Redis round trips, queries.

Noise-resistant figures beside ``make bench-web``'s throughput (which a shared machine makes noisy):
the pages are requested in this process through Django's whole middleware stack (the test client's
handler, the production settings ``scripts/bench_web.py`` gives gunicorn), each page over the same
URLs after a warm-up, and the script reports per request:

* CPU (``time.process_time``, this process's every thread: the near cache's listener and the
  cache refresher included), median and least of ``--repeats`` passes (the pages take turns in
  each pass), and the bare view's least as a share of the page's least (noise only adds CPU);
* Redis round trips sent by the request's thread (each command or pipeline sent is one);
* SQL queries.

    DATABASE_URL=postgres://.../etsy_perf_bench .venv/bin/python scripts/profile_pages.py --products 200

Uses the database in ``DATABASE_URL`` as it is (a bench database: ``scripts/bench_web.py`` builds
them) and signs up one buyer with three cart lines from two shops, as the bench does. Run it on two
code trees one after the other (``git worktree``) for a paired before/after on the same data.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import threading
import time
from pathlib import Path

from production_profile import loopback_production_env

ROOT = Path(__file__).resolve().parent.parent


def configure() -> None:
    os.environ.update(
        loopback_production_env(
            BENCH_BARE_VIEW="1",
            STATIC_MANIFEST="false",
            CELERY_TASK_ALWAYS_EAGER="true",
            EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        )
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "etsy.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


class Counters:
    """Redis round trips and SQL queries made by the request thread."""

    def __init__(self) -> None:
        self.redis = 0
        self.queries = 0
        self.thread = threading.get_ident()

    def install(self) -> None:
        import redis.connection
        from django.db import connection

        real_send = redis.connection.AbstractConnection.send_packed_command
        counters = self

        def send_packed_command(conn, command, check_health=True):
            if threading.get_ident() == counters.thread:
                counters.redis += 1
            return real_send(conn, command, check_health)

        redis.connection.AbstractConnection.send_packed_command = send_packed_command

        def count_query(execute, sql, params, many, context):
            counters.queries += 1
            return execute(sql, params, many, context)

        connection.execute_wrappers.append(count_query)


def buyer_client(product_ids: list[int]):
    """A signed-in buyer (signed up and in through the pages) with three cart lines from two shops."""
    from django.test import Client

    from accounts.models import User
    from catalog.models import Personalization, Product

    client = Client()
    email = f"profile-{secrets.token_hex(4)}@example.com"
    password = "profile-Pass-2024!"
    client.get("/accounts/signup/")
    client.post("/accounts/signup/", {"email": email, "password": password, "display_name": "Profile"})
    User.objects.filter(email=email).update(is_active=True, is_signup_pending=False)
    response = client.post("/accounts/login/", {"username": email, "password": password})
    if response.status_code != 302:
        raise SystemExit(f"could not sign in the profile buyer (HTTP {response.status_code})")
    # Two shops, three lines: two plain listings (no variations, no personalisation asked) of one shop, one of
    # another. The cart page's cost is what is measured, so the lines are chosen, not drawn at random.
    plain = (
        Product.objects.filter(
            pk__in=product_ids, variations__isnull=True, personalization=Personalization.NONE, quantity__gte=5
        )
        .values_list("pk", "shop_id")
        .order_by("pk")
    )
    by_shop: dict[int, list[int]] = {}
    for pid, shop_id in plain:
        by_shop.setdefault(shop_id, []).append(pid)
    ranked = sorted(by_shop.values(), key=len, reverse=True)
    if len(ranked) < 2 or len(ranked[0]) < 2:
        raise SystemExit("not enough plain listings among the profiled products for a two-shop cart")
    for pid in [*ranked[0][:2], ranked[1][0]]:
        client.post(f"/cart/add/{pid}/", {"quantity": "1"})
    lines = client.get("/cart/").content.decode().count('<li class="cart-line')
    if lines != 3:
        raise SystemExit(f"the profile buyer's cart holds {lines} lines, not 3")
    return client


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=200, help="product URLs requested in turn")
    parser.add_argument("--requests", type=int, default=600, help="measured requests per page per pass")
    parser.add_argument("--repeats", type=int, default=5, help="passes per page (the median is reported)")
    parser.add_argument("--pages", default="bare,product,product_signed_in,cart,home_signed_in,category")
    parser.add_argument("--cprofile", metavar="PAGE", help="print cProfile's top functions of one page's requests")
    args = parser.parse_args()
    configure()

    from django.db import connection
    from django.test import Client

    from catalog.models import Category, Product

    counters = Counters()
    counters.install()
    product_rows = list(
        Product.objects.filter(is_active=True, quantity__gt=0, shop__is_active=True, reserved_for__isnull=True)
        .order_by("?")
        .values_list("pk", "slug")[: args.products]
    )
    product_urls = [f"/listing/{pk}/{slug}/" for pk, slug in product_rows]
    category_urls = [f"/c/{slug}/" for slug in Category.objects.order_by("id").values_list("slug", flat=True)[:20]]
    visitor = Client()
    buyer = buyer_client([pk for pk, _ in product_rows])
    pages = {
        "bare": (visitor, ["/bench/bare"]),
        "product": (visitor, product_urls),
        "product_signed_in": (buyer, product_urls),
        "cart": (buyer, ["/cart/"]),
        "home_signed_in": (buyer, ["/"]),
        "category": (visitor, category_urls),
    }
    chosen = [p for p in args.pages.split(",") if p]
    for name in chosen:
        client, urls = pages[name]
        for url in urls:  # warm: fills the caches and this process's near copies
            client.get(url)
            client.get(url)
    time.sleep(0.2)  # let the refresher settle
    # Pages take turns within each pass, so a machine that slows down or speeds up weighs on all alike.
    runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in chosen}
    for _ in range(args.repeats):
        for name in chosen:
            client, urls = pages[name]
            counters.redis = counters.queries = 0
            started = time.process_time()
            for i in range(args.requests):
                response = client.get(urls[i % len(urls)])
                if response.status_code != 200:
                    raise SystemExit(f"{name}: {urls[i % len(urls)]} answered {response.status_code}")
            cpu = (time.process_time() - started) / args.requests * 1e6
            runs[name].append((cpu, counters.redis / args.requests, counters.queries / args.requests))
    results = {}
    for name, passes in runs.items():
        cpu = [p[0] for p in passes]
        results[name] = (
            statistics.median(cpu),
            min(cpu),
            statistics.median(p[1] for p in passes),
            statistics.median(p[2] for p in passes),
        )
        if name == args.cprofile:
            import cProfile
            import pstats

            client, urls = pages[name]
            profiler = cProfile.Profile(time.process_time)
            profiler.enable()
            for i in range(args.requests):
                client.get(urls[i % len(urls)])
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(70)
    connection.close()
    bare = results.get("bare", (None, None))[1]
    print(f"{'page':<20} {'CPU us/req':>10} {'(min)':>7} {'bare/page':>9} {'redis/req':>9} {'queries/req':>11}")
    for name, (cpu, low, trips, queries) in results.items():
        share = f"{bare / low * 100:8.1f}%" if bare else "        -"
        print(f"{name:<20} {cpu:10.0f} {low:7.0f} {share} {trips:9.2f} {queries:11.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
