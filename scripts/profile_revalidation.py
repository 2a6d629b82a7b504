"""What checking a due category page costs the refresher: CPU (this process and its PostgreSQL backend), queries.

The expiry round of ``make bench-web`` in one process, without the load: the category pages the bench requests
(every category, newest and price low-to-high, pages 1-3) are built through the whole middleware stack, then
each pass stamps every copy due, drops the recent counts (as 30 s later), requests each page once (answered with
the copy, its check queued) and drains the refresher's queue in this thread. Reported per check, least and median
of ``--repeats`` passes: CPU of this process (``time.process_time``) and of its PostgreSQL backend
(``/proc/<pid>/stat``), SQL queries, and how many pages were kept (every one, on an unchanged catalog).

    DATABASE_URL=postgres://.../etsy_demo .venv/bin/python scripts/profile_revalidation.py --repeats 5

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
    from prometheus_client import REGISTRY

    from catalog.models import Category
    from etsy.cache import aside

    aside.refresher.background = False  # the queue is drained here, by run_pending
    aside.refresh_budget.share = aside.refresh_budget.burst = aside.refresh_budget.tokens = 1e9
    slugs = list(Category.objects.order_by("id").values_list("slug", flat=True))
    slugs = slugs[: args.categories] if args.categories else slugs
    urls = [f"/c/{c}/?sort={s}&page={p}" for c in slugs for s in args.sorts.split(",") for p in args.pages.split(",")]
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
        return REGISTRY.get_sample_value("etsy_page_revalidations_total", {"kind": "page:category", "outcome": "kept"})

    redis = caches["default"]
    client = Client()
    for url in urls:  # build every page (and the category tree, this process's near copies)
        if client.get(url).status_code != 200:
            raise SystemExit(f"{url} did not answer 200")
    keys = list(redis.keys("page:category:*"))

    def queue_every_page_due() -> None:
        """Mark every copy due, forget the recent counts, and request each page once so its check is queued."""
        for key in keys:
            entry = redis.get(key)
            redis.set(key, (entry[0], entry[1], 0.0, *entry[3:]), 120)
        redis.delete_pattern("listing:count:recent:*")
        for url in urls:
            client.get(url)

    def one_pass() -> tuple[int, int, float, float, int, float]:
        nonlocal queries
        queue_every_page_due()
        pending, kept_before, queries = aside.refresher.pending(), kept() or 0.0, 0
        cpu, db = time.process_time(), backend_cpu()
        checked = aside.refresher.run_pending()
        cpu, db = time.process_time() - cpu, backend_cpu() - db
        return pending, checked, cpu, db, queries, (kept() or 0.0) - kept_before

    runs = []
    for _ in range(args.repeats):
        pending, checked, cpu, db, n, kept_now = one_pass()
        if not checked:
            raise SystemExit("nothing was checked")
        runs.append((cpu / checked * 1e6, db / checked * 1e6, n / checked, checked, pending, kept_now))
        print(
            f"pass: {checked}/{pending} checked, {int(kept_now)} kept, python {runs[-1][0]:.0f} us/check, "
            f"postgres {runs[-1][1]:.0f} us/check, {runs[-1][2]:.2f} queries/check"
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
    for label, i in (("python us/check", 0), ("postgres us/check", 1)):
        values = [r[i] for r in runs]
        print(f"{label:<20} min {min(values):7.0f}  median {statistics.median(values):7.0f}")
    both = [r[0] + r[1] for r in runs]
    print(f"{'total us/check':<20} min {min(both):7.0f}  median {statistics.median(both):7.0f}")
    print(f"{'queries/check':<20} {statistics.median(r[2] for r in runs):.2f}  ({runs[0][3]} checks a pass)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
