"""What one 3-shop ``POST /api/v1/checkout`` and its outbox task cost: CPU here and in PostgreSQL, queries,
Redis round trips; the request and the worker's part apart.

Noise-resistant figures beside ``make bench-writes`` (its CPU phase counts whole processes while other work runs):
the production settings ``scripts/bench_writes.py`` gives gunicorn and its worker (the test payment provider,
emails to Django's memory backend), the WSGI application called in this process (every middleware, DRF, the
after-commit hand-over to the broker), then the outbox tasks the checkouts published, run here one after the
other as a worker runs them (``Task.apply``: its signals, the task's own transaction). Per pass:

1. every buyer's cart filled with one stocked listing of each of three shops (as the bench does; not counted);
2. one checkout per buyer through the WSGI application: CPU of this process (``time.process_time``: every
   thread, the payment call's included) and of its PostgreSQL backend (``/proc/<pid>/stat``);
3. the tasks those checkouts handed to the broker, run here: the same two CPU figures, the worker's.

Then the statements and Redis commands of one checkout and of its task. ``--profile web`` or ``--profile worker``
prints cProfile's heaviest functions of that side instead (one extra pass). ``--statement-stats total`` adds a pass
that reads PostgreSQL's CPU per statement (``log_statement_stats``, its reports sent back as notices: the connection
must be a superuser's), each side's statements by cost, "between statements" being COMMIT (deferred foreign-key
checks, the WAL flush) and BEGIN; then how often PostgreSQL planned each prepared statement (a statement planned on
every run has ``custom plans`` equal to its runs). ``--statement-stats phases`` splits parse, plan and execution.

``--callgrind`` adds a pass whose web checkouts alone run inside one ``exec()``, so that valgrind counts their
instructions, every thread's (the payment call's, the near cache's listener), and nothing else:

    REDIS_SOCKET_TIMEOUT=10 valgrind --tool=callgrind --dump-before=builtin_exec --dump-after=builtin_exec \\
        .venv/bin/python scripts/profile_checkout.py --checkouts 12 --passes 1 --callgrind

then the last ``--dump-after`` part (``callgrind_annotate`` shows its total) divided by ``--checkouts`` (Python's
start-up runs ``exec`` too: those parts come first). ``--callgrind worker`` runs that pass's outbox tasks inside the
``exec()`` instead (the worker's part: handlers, emails, statements), the web checkouts outside it: the worker's
part is the one after the largest (the checkouts, ending at a ``--dump-before``); the one-checkout statement log
that follows adds smaller parts. At least one pass before it: a process keeps a token's account
from its second sighting on (``accounts.backends.keep_account``), so a buyer's third checkout is warm; and a short
run, as the account markers last 5 minutes. Redis's default timeout (0.5 s) is too short under valgrind: the near
cache's listener gives up and every request reads its token from PostgreSQL. The pass asks for the search
vocabulary's refresh first (its debounce key cleared), so every run publishes it once, at the same place.

    DATABASE_URL=postgres://.../etsy_x CELERY_QUEUE_SUFFIX=x .venv/bin/python scripts/profile_checkout.py \\
        --checkouts 100 --passes 3

Before each pass the tables autovacuum's rule finds due are analyzed (and vacuumed), as a production server's
autovacuum keeps them (``bench.autoanalyze``; this machine's server runs without it, and the checkouts of earlier
passes and runs would otherwise be read through plans guessed over tables never analyzed).

Seeds its shops, listings and buyers in the database of ``DATABASE_URL`` (migrated) on the first run and reuses
them (found by their names). Publishes to the broker's queues of ``CELERY_QUEUE_SUFFIX`` (give it one of your
own: no worker may consume them) and empties them when it is done. Run it from two code trees in turn (``git
worktree``) for a paired before/after.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import re
import secrets
import statistics
import sys
import time
import uuid
from pathlib import Path

from bench.autoanalyze import run_due
from production_profile import (
    WRITE_PATH_SETTINGS,
    backend_cpu_seconds,
    loopback_production_env,
    post_json,
    record_redis_commands,
)

ROOT = Path(__file__).resolve().parent.parent
SEED_TAG = "profile-checkout"
SHOPS, LISTINGS_PER_SHOP = 12, 2
ADDRESS = {"name": "Load Buyer", "line1": "1 Bench Street", "line2": "", "city": "Hudson", "postcode": "12534"}


def configure() -> None:
    if not os.environ.get("CELERY_QUEUE_SUFFIX"):
        raise SystemExit("set CELERY_QUEUE_SUFFIX to queues of your own: this script publishes to them")
    os.environ.update(
        loopback_production_env(
            **WRITE_PATH_SETTINGS,
            DB_CONN_MAX_AGE="3600",  # one backend for the whole run, so its CPU is read from one pid
        )
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "etsy.settings")
    sys.path.insert(0, str(ROOT))


def seed(*, buyers: int) -> tuple[dict[int, list[int]], list[int], list[str]]:
    """Shops with stocked listings (a million units each) and buyers with API tokens, made once and found again.

    Return the listings by shop, the buyers' ids and their tokens."""
    from decimal import Decimal

    from rest_framework.authtoken.models import Token

    from accounts.models import User
    from catalog.models import Category, Product
    from catalog.services.listings import create_product
    from shops.services import open_shop

    def found():
        by_shop: dict[int, list[int]] = {}
        for pk, shop_id in Product.objects.filter(title__startswith=f"{SEED_TAG} mug").values_list("pk", "shop_id"):
            by_shop.setdefault(shop_id, []).append(pk)
        users = list(
            Token.objects.filter(user__email__startswith=f"{SEED_TAG}-buyer")
            .order_by("user_id")
            .values_list("user_id", "key")
        )
        return by_shop, users

    by_shop, users = found()
    if len(by_shop) < SHOPS:
        category, _ = Category.objects.get_or_create(slug=SEED_TAG, defaults={"name": "Profile checkout"})
        tag = secrets.token_hex(3)
        for i in range(SHOPS):
            owner = User.objects.create_user(f"{SEED_TAG}-seller-{tag}-{i}@bench.test", "x-bench-7")
            shop = open_shop(owner=owner, name=f"PC {tag} {i}")
            for j in range(LISTINGS_PER_SHOP):
                create_product(
                    shop=shop,
                    title=f"{SEED_TAG} mug {i}-{j}",
                    category=category,
                    price=Decimal("7.50") + j,
                    quantity=10**6,
                )
    if len(users) < buyers:
        tag = secrets.token_hex(3)
        for i in range(buyers - len(users)):
            user = User.objects.create_user(f"{SEED_TAG}-buyer-{tag}-{i}@bench.test", "x-bench-7")
            Token.objects.create(user=user)
    by_shop, users = found()
    return by_shop, [u for u, _ in users[:buyers]], [k for _, k in users[:buyers]]


def fill_carts(by_shop: dict[int, list[int]], user_ids: list[int], rng: random.Random) -> None:
    """One stocked listing of each of three shops in every buyer's cart (the bench's own filling)."""
    from bench.seeds import fill_three_shop_carts

    fill_three_shop_carts(by_shop, user_ids, rng=rng)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkouts", type=int, default=100, help="checkouts per pass (one buyer each)")
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--profile", choices=["web", "worker"], help="cProfile one side in an extra pass")
    parser.add_argument("--top", type=int, default=35, help="functions shown with --profile")
    parser.add_argument("--dump", help="with --profile: also write the profile to this file (pstats)")
    parser.add_argument(
        "--callgrind",
        nargs="?",
        const="web",
        choices=["web", "worker"],
        help="an extra pass whose web checkouts (or, with 'worker', outbox tasks) run inside one exec() (above)",
    )
    parser.add_argument(
        "--statement-stats",
        choices=["total", "phases"],
        help="an extra pass that reads PostgreSQL's CPU per statement (log_statement_stats; needs a superuser); "
        "phases: parse, plan and execute apart (log_parser_stats, log_planner_stats, log_executor_stats)",
    )
    args = parser.parse_args()
    configure()

    import django

    django.setup()
    from celery.app.task import Task
    from django.conf import settings
    from django.core import mail
    from django.core.cache import cache
    from django.db import connection

    from etsy.celery import app as celery_app
    from etsy.wsgi import application
    from search.receivers import VOCABULARY_PENDING_KEY

    # As the bench's worker: the emails go nowhere (set after the WSGI module's production checks).
    settings.EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    rng = random.Random(23)
    by_shop, user_ids, tokens = seed(buyers=args.checkouts)
    redis_sent = record_redis_commands()

    published: list[tuple[str, tuple, dict]] = []
    original_apply_async = Task.apply_async

    def recording_apply_async(self, args=None, kwargs=None, *rest, **options):
        published.append((self.name, tuple(args or ()), dict(kwargs or {})))
        return original_apply_async(self, args, kwargs, *rest, **options)

    Task.apply_async = recording_apply_async

    def checkout(i: int) -> str:
        body = {"address": {**ADDRESS, "country": "US"}, "payment_method": "pm_card_visa"}
        return post_json(
            application,
            "/api/v1/checkout",
            body,
            HTTP_AUTHORIZATION=f"Token {tokens[i]}",
            HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
        )

    emails = []

    def run_published() -> int:
        tasks = list(published)
        published.clear()
        for name, task_args, task_kwargs in tasks:
            celery_app.tasks[name].apply(args=task_args, kwargs=task_kwargs)
        emails.append(len(mail.outbox))
        mail.outbox = []
        return len(tasks)

    statuses: dict[str, int] = {}
    side_of_statement = ["web"]  # which side the statement-stats pass is in

    def count(status: str) -> None:
        statuses[status] = statuses.get(status, 0) + 1

    def measure_statements(run_pass, *, phases: bool) -> tuple[dict, list]:
        """Run a pass with ``log_statement_stats`` on this connection, its reports sent back as notices: the
        backend's CPU (user + system, ``getrusage``) of each statement, by side and statement text (and phase,
        with ``phases``); then this connection's prepared statements and how often each was planned."""
        cpu: dict[tuple[str, str], list[float]] = {}
        label = [OUTSIDE]

        def on_notice(diagnostic) -> None:
            if not (diagnostic.message_primary or "").endswith("STATISTICS"):
                return
            found = re.search(r"([\d.]+) s user, ([\d.]+) s system", diagnostic.message_detail or "")
            if found:
                seconds = float(found[1]) + float(found[2])
                phase = diagnostic.message_primary.removesuffix(" STATISTICS").lower() if phases else ""
                key = (side_of_statement[0], f"[{phase}] {label[0]}" if phases else label[0])
                cpu.setdefault(key, []).append(seconds)

        def labelling(execute, sql, params, many, context):
            label[0] = " ".join(sql.split())[:110]
            try:
                return execute(sql, params, many, context)
            finally:
                label[0] = OUTSIDE

        connection.ensure_connection()
        connection.connection.add_notice_handler(on_notice)
        stats = ["log_parser_stats", "log_planner_stats", "log_executor_stats"] if phases else ["log_statement_stats"]
        with connection.cursor() as cursor:
            for setting in stats:
                cursor.execute(f"SET {setting} = on")
            cursor.execute("SET client_min_messages = log")
        cpu.clear()
        try:
            with connection.execute_wrapper(labelling):
                run_pass("stats")
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET client_min_messages")
                for setting in stats:
                    cursor.execute(f"RESET {setting}")
                cursor.execute(
                    "SELECT generic_plans, custom_plans, left(regexp_replace(statement, '\\s+', ' ', 'g'), 100)"
                    " FROM pg_prepared_statements ORDER BY custom_plans DESC"
                )
                prepared = cursor.fetchall()
            connection.connection.remove_notice_handler(on_notice)
        return cpu, prepared

    def one_pass(n: int, profiler: cProfile.Profile | None = None, side: str = "") -> tuple[float, ...]:
        fill_carts(by_shop, user_ids[:n], rng)
        published.clear()
        db0, cpu0 = backend_cpu_seconds(), time.process_time()
        if profiler and side == "web":
            profiler.enable()
        if side == "stats":
            side_of_statement[0] = "web"
        if side == "callgrind":
            cache.delete(VOCABULARY_PENDING_KEY)  # the same work in every run: its first checkout asks for it
            exec("for i in range(n): count(checkout(i))", {"n": n, "checkout": checkout, "count": count})
        for i in range(n if side != "callgrind" else 0):
            count(checkout(i))
        if profiler and side == "web":
            profiler.disable()
        cpu1, db1 = time.process_time(), backend_cpu_seconds()
        if side == "stats":
            side_of_statement[0] = "worker"
        if profiler and side == "worker":
            profiler.enable()
        if side == "callgrind-worker":
            found: list[int] = []
            exec("found.append(run_published())", {"found": found, "run_published": run_published})
            tasks = found[0]
        else:
            tasks = run_published()
        if profiler and side == "worker":
            profiler.disable()
        cpu2, db2 = time.process_time(), backend_cpu_seconds()
        ms = [1000 * x / n for x in (cpu1 - cpu0, db1 - db0, cpu2 - cpu1, db2 - db1)]
        return (*ms, tasks / n)

    def one_pass_analyzed(n: int, *rest, **options) -> tuple:
        # Planner statistics as autovacuum keeps them (this machine's server runs without it): a pass must not
        # measure plans guessed over tables the earlier passes grew.
        connection.ensure_connection()
        run_due(connection.connection)
        return one_pass(n, *rest, **options)

    try:
        one_pass_analyzed(min(20, args.checkouts))  # warm: tokens kept, prepared statements, imports, templates
        rows = [one_pass_analyzed(args.checkouts) for _ in range(args.passes)]
        if args.callgrind:
            rows.append(
                one_pass_analyzed(args.checkouts, side="callgrind" if args.callgrind == "web" else "callgrind-worker")
            )
        if args.profile:
            profiler = cProfile.Profile(time.process_time)  # CPU, not wall: the machine is shared
            one_pass(args.checkouts, profiler, args.profile)
        if args.statement_stats:
            statement_cpu, prepared = measure_statements(
                lambda side: one_pass_analyzed(args.checkouts, side=side), phases=args.statement_stats == "phases"
            )

        queries: list[str] = []

        def logging_query(execute, sql, params, many, context):
            queries.append(" ".join(sql.split())[:130])
            return execute(sql, params, many, context)

        fill_carts(by_shop, user_ids[:1], rng)
        published.clear()
        redis_sent.clear()
        with connection.execute_wrapper(logging_query):
            checkout(0)
            web_queries, web_redis = list(queries), list(redis_sent)
            queries.clear()
            redis_sent.clear()
            tasks = run_published()
        worker_queries, worker_redis = list(queries), list(redis_sent)
    finally:
        Task.apply_async = original_apply_async
        celery_app.control.purge()  # this run's queues (CELERY_QUEUE_SUFFIX) only

    def column(k: int) -> str:
        values = [r[k] for r in rows]
        return f"median {statistics.median(values):6.2f}, least {min(values):6.2f}"

    print(f"3-shop checkout, {args.checkouts} checkouts x {args.passes} passes: {statuses}")
    print(f"  web    CPU here       ms/checkout: {column(0)}")
    print(f"  web    CPU PostgreSQL ms/checkout: {column(1)}")
    print(f"  worker CPU here       ms/checkout: {column(2)}")
    print(f"  worker CPU PostgreSQL ms/checkout: {column(3)}")
    print(f"  tasks/checkout {statistics.median(r[4] for r in rows):.2f}, emails sent {sum(emails)}")
    for side, sql, sent in (("web", web_queries, web_redis), ("worker", worker_queries, worker_redis)):
        print(f"  {side}: {len(sql)} queries (BEGIN/COMMIT not logged), {len(sent)} Redis round trips")
        for statement in sql:
            print(f"    SQL   {statement}")
        for command in sent:
            print(f"    Redis {command[:100]!r}")
    print(f"  (one checkout's worker part ran {tasks} task(s))")
    if args.statement_stats:
        print_statement_cpu(statement_cpu, args.checkouts)
        print("  prepared statements of this connection: generic plans, custom plans, statement")
        for generic, custom, text in prepared:
            print(f"    {generic:6d} {custom:6d}  {text}")
    if args.profile:
        if args.dump:
            profiler.dump_stats(args.dump)
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).sort_stats("tottime").print_stats(args.top)
        stream.write("\n--- cumulative ---\n")
        pstats.Stats(profiler, stream=stream).sort_stats("cumulative").print_stats(args.top)
        print(stream.getvalue())


OUTSIDE = "(between statements: COMMIT, BEGIN)"


def print_statement_cpu(cpu: dict[tuple[str, str], list[float]], checkouts: int) -> None:
    """Each side's statements by the backend CPU they took, µs per checkout (every run of the text summed)."""
    for side in ("web", "worker"):
        rows = sorted(((sum(v), len(v), text) for (s, text), v in cpu.items() if s == side), reverse=True)
        total = sum(r[0] for r in rows)
        print(f"  {side}: PostgreSQL CPU by statement, {1e6 * total / checkouts:.0f} µs per checkout in all")
        for seconds, reports, text in rows:
            print(f"    {1e6 * seconds / checkouts:7.0f} µs  {reports / checkouts:5.2f} reports  {text}")


if __name__ == "__main__":
    main()
