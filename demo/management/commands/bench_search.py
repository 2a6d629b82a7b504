"""Search relevance and latency benchmark (``make bench-search``).

Runs in its own database (``<DATABASE NAME>_bench`` unless --database is given),
created, migrated and filled with the deterministic demo catalog on first use, so
the figures never depend on what a developer did to the dev database.

1. The hand-judged set (search/judged/: listings and graded queries written by hand, in
   ``<name>_bench_judged``): nDCG@10, MRR, zero-result rate and sold-out listings shown,
   for the search service beside a naive baseline (every word ``icontains`` in the title
   or description, newest first), by query group, computed in the same run.
2. The generated set (search/bench/judgments.json, graded from the demo generator's own
   attributes, in ``<name>_bench_demo``): the same figures.
3. The 480 WANDS shopper queries: errors and p50/p95 latency of the search service
   (``<name>_bench``, 100,000 listings; ``--skip-large`` leaves it out).
Every timed search is a cache miss (the listings version is bumped before it).
"""

from __future__ import annotations

import csv
import random
import re
import statistics
import time
from collections import defaultdict
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, connections, transaction
from django.db.models import F, Q
from tqdm import tqdm

from catalog.models import Category, Product
from catalog.signals import products_changed
from demo.loader import Progress, iter_listings, load_demo_catalog
from demo.replication import replicate_catalog
from search import caching, selectors
from search.backends.postgres import refresh_vocabulary
from search.bench import hand_judged
from search.bench.relevance import JudgedQuery, K, Truth, ideal_grades_for, load_judgments, score
from search.selectors import search_products
from search.types import SearchParams

DEFAULT_WANDS = Path(settings.BASE_DIR).parent / "shared" / "datasets" / "wands" / "query.csv"


class _Progress(Progress):
    """A bar on a terminal; a line every tenth of a phase otherwise (a load run in the background, logged)."""

    def __init__(self, stdout) -> None:
        self.stdout = stdout
        self.bar: tqdm | None = None
        self.lines = not stdout.isatty()
        self.phase, self.total, self.done, self.started = "", 0, 0, 0.0

    def start(self, phase: str, total: int) -> None:
        if self.bar:
            self.bar.close()
        self.phase, self.total, self.done, self.started = phase, total, 0, time.perf_counter()
        if self.lines:
            self.bar = None
            if total:
                self.stdout.write(f"  {phase}: 0/{total:,}")
            return
        self.bar = tqdm(total=total, desc=phase, disable=True if total == 0 else None)

    def advance(self, steps: int) -> None:
        if self.bar:
            self.bar.update(steps)
            return
        before, self.done = self.done, self.done + steps
        if self.lines and self.total and (10 * self.done) // self.total > (10 * before) // self.total:
            self.stdout.write(
                f"  {self.phase}: {self.done:,}/{self.total:,} ({self.done / self.total:.0%},"
                f" {time.perf_counter() - self.started:.0f} s)"
            )


def _size_label(count: int) -> str:
    """Return 1000000 as "1m", 100000 as "100k" (benchmark database names)."""
    for unit, size in (("m", 1_000_000), ("k", 1_000)):
        if count % size == 0:
            return f"{count // size}{unit}"
    return str(count)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


class Command(BaseCommand):
    help = "Measure search relevance (nDCG@10, MRR, zero results vs a naive baseline) and WANDS latency."

    def add_arguments(self, parser):
        parser.add_argument("--products", type=int, default=100_000, help="Listings of the WANDS catalog.")
        parser.add_argument("--shops", type=int, default=300, help="Shops of the WANDS catalog.")
        parser.add_argument("--demo-products", type=int, default=10_000, help="Listings of the judged demo catalog.")
        parser.add_argument("--demo-shops", type=int, default=100, help="Shops of the judged demo catalog.")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--database", default=None, help="Database name prefix (default: <name>_bench).")
        parser.add_argument("--wands", default=str(DEFAULT_WANDS), help="WANDS query.csv (tab-separated).")
        parser.add_argument("--skip-wands", action="store_true")
        parser.add_argument("--skip-judged", action="store_true", help="Leave out the generated judged set.")
        parser.add_argument("--skip-hand", action="store_true", help="Leave out the hand-judged set.")
        parser.add_argument(
            "--skip-large", action="store_true", help="Leave out the 100k-listing catalog (WANDS and its judged run)."
        )
        parser.add_argument("--passes", type=int, default=3, help="WANDS passes (latency per query: first and best).")
        parser.add_argument("--verbose-queries", action="store_true", help="Print every judged query's scores.")
        parser.add_argument(
            "--cache-mix",
            type=int,
            default=0,
            metavar="SEARCHES",
            help="Only measure the search cache's hit rate: SEARCHES searches mixed with sales (hand-judged catalog).",
        )
        parser.add_argument("--searches-per-sale", type=int, default=10)
        parser.add_argument(
            "--latency",
            action="store_true",
            help="Only measure cache-miss latency (p50/p95/p99) of the judged and broad queries on the large catalog.",
        )
        parser.add_argument(
            "--copies",
            type=int,
            default=1,
            help="With --latency: the generator loads --products / COPIES listings, then SQL copies them "
            "COPIES times in all (the fast path to 1M: make bench-search-1m; see demo/replication.py).",
        )
        parser.add_argument(
            "--limits",
            default="",
            metavar="COUNT/RANK/RECENT;...",
            help="With --latency: measure each set of limits given (CANDIDATE_LIMIT/RANK_LIMIT/RECENT_LIMIT, "
            "e.g. '10000/300/3000;2000/300/3000'), interleaved query by query (paired figures in one run).",
        )

    def handle(self, *args, **options):
        prefix = options["database"] or f"{connections.databases['default']['NAME']}_bench"
        if options["latency"]:
            # A loaded database is reused (``--database``); only an empty one is loaded.
            if not options["database"] and options["products"] != 100_000:
                prefix = f"{prefix}_{_size_label(options['products'])}"
            self._use_bench_database(prefix)
            started = time.perf_counter()
            self._prepare_catalog(
                products=options["products"],
                shops=options["shops"],
                seed=options["seed"],
                judge=False,
                copies=options["copies"],
            )
            self.stdout.write(f"Catalog ready in {time.perf_counter() - started:.0f} s")
            self._report_sizes()
            variants = [tuple(int(n) for n in spec.split("/")) for spec in options["limits"].split(";") if spec]
            self._latency(passes=options["passes"], variants=variants)
            return
        if options["cache_mix"]:
            self._use_bench_database(f"{prefix}_judged")
            self._cache_mix(searches=options["cache_mix"], per_sale=options["searches_per_sale"], seed=options["seed"])
            return
        if not options["skip_hand"]:
            self._use_bench_database(f"{prefix}_judged")
            self._hand_judged(verbose=options["verbose_queries"])
        if not options["skip_judged"]:
            # The judged set is written for the demo catalog (make demo: 10,000 listings, 100 shops).
            self._use_bench_database(f"{prefix}_demo")
            truths = self._prepare_catalog(
                products=options["demo_products"], shops=options["demo_shops"], seed=options["seed"]
            )
            self._judged(truths, verbose=options["verbose_queries"])
        if options["skip_large"]:
            return
        self._use_bench_database(prefix)
        truths = self._prepare_catalog(products=options["products"], shops=options["shops"], seed=options["seed"])
        if not options["skip_judged"]:
            self.stdout.write("")
            self.stdout.write(f"The same judged queries against the {options['products']}-listing catalog:")
            self._judged(truths, verbose=False, summary_only=True)
        if not options["skip_wands"]:
            self._wands(Path(options["wands"]), passes=options["passes"])

    # --- setup -------------------------------------------------------------------------

    def _use_bench_database(self, name: str) -> None:
        db = connections.databases["default"]
        if not re.fullmatch(r"[A-Za-z0-9_]+", name):
            raise CommandError("--database must be letters, digits and underscores.")
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                self.stdout.write(f"Creating benchmark database {name}")
                cursor.execute(f'CREATE DATABASE "{name}"')  # name checked above; identifiers cannot be bound
        connection.close()
        db["NAME"] = name
        self.stdout.write(f"Benchmark database: {name}")
        call_command("migrate", verbosity=0, interactive=False)

    def _prepare_catalog(
        self, *, products: int, shops: int, seed: int, judge: bool = True, copies: int = 1
    ) -> dict[int, Truth]:
        count = Product.objects.count()
        if count == 0:
            if copies < 1 or products % copies:
                raise CommandError("--products must be a multiple of --copies.")
            generated = products // copies
            self.stdout.write(f"Loading the demo catalog: {generated} listings, {shops} shops, seed {seed}")
            started = time.perf_counter()
            progress = _Progress(self.stdout)
            load_demo_catalog(products=generated, shops=shops, seed=seed, progress=progress)
            self.stdout.write(f"Generated {generated:,} listings in {time.perf_counter() - started:.0f} s")
            if copies > 1:
                copied = time.perf_counter()
                self.stdout.write(f"Copying them in SQL to {products:,} listings (demo/replication.py)")
                progress.start("copies", generated)
                replicate_catalog(
                    copies=copies,
                    progress=lambda done, total: progress.advance(generated * done // total - progress.done),
                )
                self.stdout.write(f"Copied in {time.perf_counter() - copied:.0f} s")
            # The load rewrites every listing's row once (shop sales counts): what autovacuum does
            # after a bulk load in production, so the text index holds no dead entries.
            with connection.cursor() as cursor:
                cursor.execute("VACUUM search_listing")
            self.stdout.write(f"Loaded in {time.perf_counter() - started:.0f} s")
        elif count != products:
            raise CommandError(
                f"The benchmark database holds {count} listings, not {products}: "
                "drop it or pass --database / --products matching it."
            )
        with connection.cursor() as cursor:
            cursor.execute("SELECT EXISTS (SELECT 1 FROM search_vocabulary)")
            loaded = cursor.fetchone()[0]
        if count == 0 or not loaded:  # a reused catalog keeps its vocabulary (minutes to rebuild at 1M)
            refresh_vocabulary()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # fresh planner statistics after a bulk load (autovacuum may lag)
        if not judge:
            return {}
        specs = iter_listings(seed=seed, products=products, shops=shops)
        rows = Product.objects.order_by("pk").values_list("pk", "title", "quantity", "is_active", "shop__is_active")
        truths: dict[int, Truth] = {}
        mismatched = 0
        for spec, (pk, title, quantity, active, shop_active) in zip(
            specs, rows.iterator(chunk_size=5000), strict=False
        ):
            if spec.title != title:
                mismatched += 1
                continue
            if quantity > 0 and active and shop_active:
                truths[pk] = Truth(
                    kind=spec.kind,
                    material=spec.material,
                    colour=spec.colour,
                    style=spec.style,
                    vintage=spec.is_vintage,
                )
        if mismatched:
            raise CommandError(
                f"{mismatched} listings differ from the demo generator's; reload the benchmark database."
            )
        self.stdout.write(
            f"{len(truths)} buyable listings judged by their generated kind/material/colour/style/vintage"
        )
        return truths

    # --- the hand-judged set -----------------------------------------------------------

    def _hand_judged(self, *, verbose: bool) -> None:
        if Product.objects.exists():
            catalog = self._hand_catalog_in_database()
        else:
            self.stdout.write("Loading the hand-written listings (search/judged/listings.psv)")
            catalog = hand_judged.load_catalog()
        refresh_vocabulary()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        queries = hand_judged.load_queries()
        search_products(params=SearchParams(q="warm up"))
        rows: dict[str, list] = {"service": [], "baseline": []}
        latencies: list[float] = []
        for query in queries:
            caching.bump_listings_version()
            started = time.perf_counter()
            found = search_products(params=SearchParams(q=query.q, per_page=K))
            latencies.append(time.perf_counter() - started)
            service = hand_judged.score(query, [p.pk for p in found.hits], found.total, catalog, K)
            ids, total = self._baseline(query.q)
            baseline = hand_judged.score(query, ids, total, catalog, K)
            rows["service"].append((query, service))
            rows["baseline"].append((query, baseline))
            if verbose or (service.ndcg < 0.75 and not query.expect_none) or (query.expect_none and service.ndcg < 1):
                self.stdout.write(
                    f"  {query.group:10} {query.q!r:32} nDCG {service.ndcg:.2f} ({service.returned:>4} found)"
                    f"  baseline {baseline.ndcg:.2f} ({baseline.returned:>4})"
                    + (f"  did you mean: {found.suggestion}" if found.suggestion else "")
                )
        listings = len(catalog)
        self.stdout.write("")
        self.stdout.write(
            f"Hand-judged set: {len(queries)} queries graded by hand over {listings} hand-written listings "
            f"({sum(1 for item in catalog.values() if item.quantity <= 0)} sold out)"
        )
        self._print_groups(rows, [q for q, _ in rows["service"]])
        s = self._summary(rows["service"])
        b = self._summary(rows["baseline"])
        self.stdout.write("")
        self._print_totals(s, b, latencies)
        sold_out = sum(r.sold_out_shown for _, r in rows["service"])
        self.stdout.write(f"Sold-out listings shown by the service: {sold_out}")
        self.stdout.write("")

    BROAD_QUERIES = ("handmade", "gift for him", "necklace", "vintage", "silver", "ring", "blue", "leather")

    def _report_sizes(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT (SELECT count(*) FROM search_listing), pg_relation_size('search_listing'),"
                " pg_indexes_size('search_listing'), pg_relation_size('search_listing_vector'),"
                " pg_database_size(current_database())"
            )
            rows, heap, indexes, text_index, database = cursor.fetchone()
        mb = 1024 * 1024
        self.stdout.write(
            f"search_listing: {rows:,} buyable listings, table {heap / mb:,.0f} MB, indexes {indexes / mb:,.0f} MB"
            f" (text index {text_index / mb:,.0f} MB); database {database / mb:,.0f} MB"
        )

    BROWSE_CATEGORIES = (None, "jewelry", "home-living", "clothing", "mugs-cups", "necklaces")

    def _latency(self, *, passes: int, variants: list[tuple[int, ...]]) -> None:
        """p50/p95/p99 of cache misses (end to end: analysis, statements, listings): judged and broad queries,
        and browsing without words. With several variants of the limits, each query runs under each in turn."""
        from search.backends.postgres import query as postgres

        names = ("CANDIDATE_LIMIT", "RANK_LIMIT", "RECENT_LIMIT")
        shipped = tuple(getattr(postgres, name) for name in names)
        variants = variants or [shipped]
        judged = [SearchParams(q=q.q) for q in load_judgments()]
        broad = [SearchParams(q=q) for q in self.BROAD_QUERIES]
        browse = [SearchParams(category=slug) for slug in self.BROWSE_CATEGORIES if self._category_exists(slug)]
        search_products(params=SearchParams(q="warm up"))
        for name, queries in (("judged", judged), ("broad", broad), ("browse", browse)):
            times: dict[tuple[int, ...], list[float]] = {variant: [] for variant in variants}
            for _ in range(passes):
                for params in queries:
                    for variant in variants:
                        for attribute, value in zip(names, variant, strict=False):
                            setattr(postgres, attribute, value)
                        try:
                            caching.bump_listings_version()
                            started = time.perf_counter()
                            search_products(params=params)
                            times[variant].append(time.perf_counter() - started)
                        finally:
                            for attribute, value in zip(names, shipped, strict=True):
                                setattr(postgres, attribute, value)
            for variant, measured in times.items():
                label = "/".join(f"{n:,}" for n in variant) if len(variants) > 1 else ""
                self.stdout.write(
                    f"{name:6} ({len(queries)} queries x {passes}){' ' + label if label else ''}: "
                    + ", ".join(f"p{p} {percentile(measured, p) * 1000:.1f} ms" for p in (50, 95, 99))
                )
        self.stdout.write(
            f"Counts exact up to {postgres.CANDIDATE_LIMIT:,} matches, at most {postgres.RANK_LIMIT:,} ranked "
            "(limits given as candidates/ranked/recent)"
        )
        for params in [*broad, *browse]:
            caching.bump_listings_version()
            started = time.perf_counter()
            found = search_products(params=params)
            self.stdout.write(
                f"  {params.q or 'browse ' + (params.category or 'everything')!r:24} {found.total_label:>8} found, "
                f"{(time.perf_counter() - started) * 1000:.1f} ms"
            )

    @staticmethod
    def _category_exists(slug: str | None) -> bool:
        return slug is None or Category.objects.filter(slug=slug).exists()

    def _cache_mix(self, *, searches: int, per_sale: int, seed: int) -> None:
        """Hit rate of the search cache under searches mixed with sales, invalidating as today and as before.

        Searches draw the hand-judged queries by popularity (Zipf: the r-th query 1/r as often);
        every ``per_sale`` searches one listing sells one unit the way checkout takes stock (a
        conditional UPDATE, then ``products_changed`` after commit). "Before" is the previous rule,
        emulated: every write bumped the one listings version. Stock is put back afterwards.
        """
        if not Product.objects.exists():
            hand_judged.load_catalog()
            refresh_vocabulary()
        queries = [q.q for q in hand_judged.load_queries()]
        weights = [1 / rank for rank in range(1, len(queries) + 1)]
        stock = dict(Product.objects.values_list("pk", "quantity"))
        modes = (
            ("without writes (the ceiling)", None),
            ("before: every write drops every answer", True),
            ("now: listing stamps", False),
        )
        for label, global_bump in modes:
            rng = random.Random(seed)
            caching.bump_listings_version()
            counts = {"lookups": 0, "misses": 0}
            ask = selectors._ask_backends

            def counting_ask(*, params, category, ask=ask, counts=counts):
                counts["misses"] += 1
                return ask(params=params, category=category)

            selectors._ask_backends = counting_ask
            try:
                for i in range(searches):
                    counts["lookups"] += 1
                    search_products(params=SearchParams(q=rng.choices(queries, weights)[0]))
                    if global_bump is not None and (i + 1) % per_sale == 0:
                        self._sell_one(rng, global_bump=global_bump)
            finally:
                selectors._ask_backends = ask
                for pk, quantity in stock.items():
                    Product.objects.filter(pk=pk).exclude(quantity=quantity).update(quantity=quantity)
            hits = counts["lookups"] - counts["misses"]
            self.stdout.write(
                f"Search cache, {label}: {hits}/{counts['lookups']} hits ({hits / counts['lookups']:.1%}), "
                f"{searches // per_sale if global_bump is not None else 0} sales among {searches} searches"
            )

    @staticmethod
    def _sell_one(rng: random.Random, *, global_bump: bool) -> None:
        in_stock = list(Product.objects.purchasable().values_list("pk", flat=True))
        pk = rng.choice(in_stock)
        with transaction.atomic():
            Product.objects.filter(pk=pk, quantity__gte=1).update(quantity=F("quantity") - 1)
            products_changed.send(sender=Product, product_ids=[pk], reason="stock")
        if global_bump:
            caching.bump_listings_version()

    def _hand_catalog_in_database(self) -> dict[int, hand_judged.HandListing]:
        listings = hand_judged.load_listings()
        rows = list(Product.objects.order_by("pk").values_list("pk", "title"))
        if [title for _, title in rows] != [item.title for item in listings]:
            raise CommandError(
                "The hand-judged benchmark database differs from search/judged/listings.psv: drop it to reload."
            )
        return {pk: item for (pk, _), item in zip(rows, listings, strict=True)}

    def _print_groups(self, rows: dict[str, list], queries: list) -> None:
        header = (
            f"{'group':24} {'n':>3}  {'nDCG@10':>8} {'baseline':>8}  {'MRR':>5} {'baseline':>8}  "
            f"{'zero%':>6} {'baseline':>8}"
        )
        self.stdout.write(header)
        by_group: dict[str, list[int]] = defaultdict(list)
        for i, query in enumerate(queries):
            by_group[query.group].append(i)
        for group, indexes in [*by_group.items(), ("ALL", list(range(len(queries))))]:
            s = self._summary([rows["service"][i] for i in indexes])
            b = self._summary([rows["baseline"][i] for i in indexes])
            self.stdout.write(
                f"{group:24} {len(indexes):>3}  {s['ndcg']:8.3f} {b['ndcg']:8.3f}  {s['mrr']:5.3f} {b['mrr']:8.3f}  "
                f"{s['zero']:6.1%} {b['zero']:8.1%}"
            )

    # --- judged queries ----------------------------------------------------------------

    def _judged(self, truths: dict[int, Truth], *, verbose: bool, summary_only: bool = False) -> None:
        queries = load_judgments()
        search_products(params=SearchParams(q="warm up"))
        results: dict[str, list] = {"service": [], "baseline": []}
        latencies: list[float] = []
        for query in queries:
            ideal = ideal_grades_for(query, truths)
            caching.bump_listings_version()
            started = time.perf_counter()
            found = search_products(params=SearchParams(q=query.q, per_page=K))
            latencies.append(time.perf_counter() - started)
            service = score(query, [p.pk for p in found.hits], found.total, truths, ideal)
            ids, total = self._baseline(query.q)
            baseline = score(query, ids, total, truths, ideal)
            results["service"].append((query, service))
            results["baseline"].append((query, baseline))
            if verbose:
                self.stdout.write(
                    f"  {query.q!r:40} service nDCG {service.ndcg:.2f} ({service.returned:>5} found)  "
                    f"baseline {baseline.ndcg:.2f} ({baseline.returned:>5})"
                    + (f"  did you mean: {found.suggestion}" if found.suggestion else "")
                )

        s = self._summary(results["service"])
        b = self._summary(results["baseline"])
        if summary_only:
            self._print_totals(s, b, latencies)
            return
        self.stdout.write("")
        self.stdout.write(f"Judged queries: {len(queries)} (grades from the generator's attributes)")
        self._print_groups(results, queries)
        self.stdout.write("")
        self._print_totals(s, b, latencies)

    def _print_totals(self, s: dict[str, float], b: dict[str, float], latencies: list[float]) -> None:
        self.stdout.write(
            f"nDCG@10 {s['ndcg']:.3f} vs baseline {b['ndcg']:.3f} (+{s['ndcg'] - b['ndcg']:.3f}); "
            f"MRR {s['mrr']:.3f} vs {b['mrr']:.3f}; zero-result rate {s['zero']:.1%} vs {b['zero']:.1%} "
            "(queries that should find something)"
        )
        self.stdout.write(
            f"Judged-query latency (cache misses): p50 {percentile(latencies, 50) * 1000:.1f} ms, "
            f"p95 {percentile(latencies, 95) * 1000:.1f} ms"
        )

    @staticmethod
    def _summary(rows: list[tuple[JudgedQuery, object]]) -> dict[str, float]:
        ndcg = statistics.mean(r.ndcg for _, r in rows) if rows else 0.0
        reciprocal = [r.reciprocal_rank for _, r in rows if r.reciprocal_rank is not None]
        findable = [r for q, r in rows if not q.expect_none]
        return {
            "ndcg": ndcg,
            "mrr": statistics.mean(reciprocal) if reciprocal else 0.0,
            "zero": (sum(1 for r in findable if r.returned == 0) / len(findable)) if findable else 0.0,
        }

    @staticmethod
    def _baseline(q: str) -> tuple[list[int], int]:
        """The naive search: every word in the title or description (icontains), newest first."""
        queryset = Product.objects.purchasable()
        for word in q.split():
            queryset = queryset.filter(Q(title__icontains=word) | Q(description__icontains=word))
        ids = list(queryset.order_by("-created_at", "-id").values_list("pk", flat=True)[:K])
        return ids, (queryset.count() if ids else 0)

    # --- WANDS replay ------------------------------------------------------------------

    def _wands(self, path: Path, *, passes: int) -> None:
        if not path.exists():
            raise CommandError(f"WANDS queries not found at {path} (pass --wands PATH).")
        with path.open(encoding="utf-8", newline="") as handle:
            queries = [row["query"] for row in csv.DictReader(handle, delimiter="\t")]
        search_products(params=SearchParams(q="warm up"))  # connections, synonym index: once per process
        runs: list[list[float]] = []
        errors: list[tuple[str, str]] = []
        zero = 0
        for run in range(passes):
            latencies: list[float] = []
            for q in tqdm(queries, desc=f"WANDS queries, pass {run + 1}", disable=None):
                caching.bump_listings_version()
                started = time.perf_counter()
                try:
                    result = search_products(params=SearchParams(q=q))
                except Exception as exc:  # a benchmark reports every failure instead of stopping
                    errors.append((q, repr(exc)))
                    latencies.append(float("nan"))
                    continue
                latencies.append(time.perf_counter() - started)
                zero += run == 0 and result.total == 0
            runs.append(latencies)
        count = Product.objects.count()
        self.stdout.write("")
        self.stdout.write(
            f"WANDS replay: {len(queries)} queries x {passes} passes against {count} listings, "
            f"{len(errors)} errors, {zero} queries with no results"
        )
        first = [t for t in runs[0] if t == t]
        self.stdout.write(
            f"Latency, first pass (cache misses, end to end incl. loading the listings): "
            f"p50 {percentile(first, 50) * 1000:.1f} ms, p95 {percentile(first, 95) * 1000:.1f} ms, "
            f"max {max(first, default=0) * 1000:.1f} ms"
        )
        if passes > 1:
            # The machine is shared: a query's best pass removes waits for CPU caused by other work.
            best = [min(times) for times in zip(*runs, strict=True) if all(t == t for t in times)]
            self.stdout.write(
                f"Latency, best of {passes} passes per query: p50 {percentile(best, 50) * 1000:.1f} ms, "
                f"p95 {percentile(best, 95) * 1000:.1f} ms, max {max(best, default=0) * 1000:.1f} ms"
            )
        for q, error in errors[:10]:
            self.stdout.write(self.style.ERROR(f"  {q!r}: {error}"))
