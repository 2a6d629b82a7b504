"""What checking a due category or product page costs the refresher: CPU (this process and its PostgreSQL
backend), queries.

The expiry round of ``make bench-web`` in one process, without the load: the category pages the bench requests
(every category, newest and price low-to-high, pages 1-3) are built through the whole middleware stack, then
each pass stamps every copy due, drops the recent counts (as 30 s later), requests each page once (answered with
the copy, its check queued) and drains the refresher's queue in this thread. Reported per check, least and median
of ``--repeats`` passes: CPU of this process (``time.process_time``) and of its PostgreSQL backend
(``/proc/<pid>/stat``), SQL queries, and how many pages were kept (every one, on an unchanged catalog).

    DATABASE_URL=postgres://.../etsy_demo .venv/bin/python scripts/profile_revalidation.py --repeats 5

``--kind product``: the pages of the first ``--products`` listings instead, and each check pass is followed by a
rebuild pass (the copies' signatures dropped, so the refresher rebuilds every page from the cached records as it
did before product pages carried signatures): check and rebuild alternate, each reported per page.

Uses the database in ``DATABASE_URL`` as it is (``manage.py load_demo_catalog --products 100000``). Run it on two
code trees one after the other (``git worktree``) for a paired before/after on the same data.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from profile_pages import configure


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--categories", type=int, default=0, help="the first N categories (0: all)")
    parser.add_argument("--sorts", default="newest,price_asc")
    parser.add_argument("--pages", default="1,2,3")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--kind", choices=("category", "product"), default="category")
    parser.add_argument("--products", type=int, default=240, help="--kind product: the first N listings' pages")
    parser.add_argument(
        "--cprofile",
        nargs="?",
        const="cumulative",
        metavar="SORT",
        help="print cProfile's top 50 functions of one more pass's checks (sorted by cumulative, or SORT)",
    )
    args = parser.parse_args()
    configure()

    from django.core.cache import caches
    from django.db import connection
    from django.test import Client
    from django.urls import reverse
    from prometheus_client import REGISTRY

    from catalog.models import Category, Product
    from etsy import cache
    from etsy.cache import aside

    aside.refresher.background = False  # the queue is drained here, by run_pending
    aside.refresh_budget.share = aside.refresh_budget.burst = aside.refresh_budget.tokens = 1e9
    if args.kind == "product":
        listed = Product.objects.listed().order_by("id").values_list("pk", "slug")[: args.products]
        urls = [reverse("catalog:product", kwargs={"pk": pk, "slug": slug}) for pk, slug in listed]
    else:
        slugs = list(Category.objects.order_by("id").values_list("slug", flat=True))
        slugs = slugs[: args.categories] if args.categories else slugs
        sorts, pages = args.sorts.split(","), args.pages.split(",")
        urls = [f"/c/{c}/?sort={s}&page={p}" for c in slugs for s in sorts for p in pages]
    kind = f"page:{args.kind}"
    queries = 0

    def count_query(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    connection.execute_wrappers.append(count_query)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        stat = Path(f"/proc/{cursor.fetchone()[0]}/stat")

    def backend_cpu() -> float:
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def kept() -> float:
        return REGISTRY.get_sample_value("etsy_page_revalidations_total", {"kind": kind, "outcome": "kept"})

    redis = caches["default"]
    client = Client()
    for url in urls:  # build every page (and the category tree, this process's near copies)
        if client.get(url).status_code != 200:
            raise SystemExit(f"{url} did not answer 200")
    keys = list(redis.keys(f"{kind}:*"))

    def queue_every_page_due(*, rebuild: bool = False) -> None:
        """Mark every copy due (``rebuild``: without its signature), forget the recent counts, and request each page
        once so its check is queued."""
        for key in keys:
            entry = redis.get(key)
            if args.kind == "product":
                redis.set(key, {**entry, "fresh_until": 0.0, **({"signature": None} if rebuild else {})}, 120)
            else:
                redis.set(key, (entry[0], entry[1], 0.0, *([None] if rebuild else entry[3:])), 120)
        cache.forget_near(*keys)  # this process's near copies of product pages, not yet told by Redis
        redis.delete_pattern("listing:count:recent:*")
        for url in urls:
            client.get(url)

    def one_pass(*, rebuild: bool = False) -> tuple[int, int, float, float, int, float]:
        nonlocal queries
        queue_every_page_due(rebuild=rebuild)
        pending, kept_before, queries = aside.refresher.pending(), kept() or 0.0, 0
        cpu, db = time.process_time(), backend_cpu()
        checked = aside.refresher.run_pending()
        cpu, db = time.process_time() - cpu, backend_cpu() - db
        return pending, checked, cpu, db, queries, (kept() or 0.0) - kept_before

    runs, rebuilds = [], []
    for _ in range(args.repeats):
        for rebuild in (False, True) if args.kind == "product" else (False,):
            pending, checked, cpu, db, n, kept_now = one_pass(rebuild=rebuild)
            if not checked:
                raise SystemExit("nothing was checked")
            run = (cpu / checked * 1e6, db / checked * 1e6, n / checked, checked, pending, kept_now)
            (rebuilds if rebuild else runs).append(run)
            what = "rebuilt" if rebuild else "checked"
            print(
                f"pass: {checked}/{pending} {what}, {int(kept_now)} kept, python {run[0]:.0f} us/page, "
                f"postgres {run[1]:.0f} us/page, {run[2]:.2f} queries/page"
            )
    if args.cprofile:
        import cProfile
        import pstats

        profiler = cProfile.Profile(time.process_time)
        queue_every_page_due()
        profiler.enable()
        aside.refresher.run_pending()
        profiler.disable()
        pstats.Stats(profiler).sort_stats(os.environ.get("SORT", "tottime")).print_stats(
            int(os.environ.get("TOP", "40"))
        )
    connection.close()
    for what, done in (("check", runs), ("rebuild", rebuilds)):
        if not done:
            continue
        for label, i in ((f"python us/{what}", 0), (f"postgres us/{what}", 1)):
            values = [r[i] for r in done]
            print(f"{label:<22} min {min(values):7.0f}  median {statistics.median(values):7.0f}")
        both = [r[0] + r[1] for r in done]
        print(f"{'total us/' + what:<22} min {min(both):7.0f}  median {statistics.median(both):7.0f}")
        print(f"{'queries/' + what:<22} {statistics.median(r[2] for r in done):.2f}  ({done[0][3]} pages a pass)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
