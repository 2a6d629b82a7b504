"""Each bench's own database (named after ``DATABASE_URL``'s: created, copied from another, sized, dropped) and
its Redis keys (deleted after a run).

``<DATABASE_URL name><suffix>``: ``_bench`` / ``_bench_<N>`` (bench_web, by catalog size), ``_bench_writes``,
``_bench_load`` / ``_bench_load_<N>``. ``DATABASE_URL`` comes from the environment, else from
``.data/stack.env`` (``make run``'s embedded services), else the local default.
"""

from __future__ import annotations

import json
import os
import time
import urllib.parse
from collections.abc import Callable

from bench import ROOT

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/etsy"
LOAD_TIMES = ROOT / ".data" / "bench_web_loads.json"


def read_stack_env() -> dict[str, str]:
    """The variables ``scripts/devstack.py`` wrote to ``.data/stack.env`` (none when it did not)."""
    env = {}
    path = ROOT / ".data" / "stack.env"
    if path.exists():
        for line in path.read_text().splitlines():
            if "=" in line and not line.lstrip().startswith("#"):
                k, v = line.split("=", 1)
                env[k.strip()] = v.strip()
    return env


def base_database_url() -> str:
    """``DATABASE_URL`` of this environment (the environment's own first, then ``.data/stack.env``)."""
    return {**read_stack_env(), **os.environ}.get("DATABASE_URL", DEFAULT_DATABASE_URL)


def bench_database_url(suffix: str, base: str | None = None) -> str:
    """``base`` (default: ``base_database_url()``) with ``suffix`` appended to its database name."""
    parsed = urllib.parse.urlsplit(base or base_database_url())
    name = parsed.path.lstrip("/") or "etsy"
    return urllib.parse.urlunsplit(parsed._replace(path=f"/{name}{suffix}"))


def web_suffix(products: int) -> str:
    """bench_web's database of a catalog size: ``_bench`` for the default 100,000 listings, ``_bench_<N>`` else."""
    return "_bench" if products == 100_000 else f"_bench_{products}"


def database_name(url: str) -> str:
    return urllib.parse.urlsplit(url).path.lstrip("/")


def _admin_url(url: str) -> str:
    return urllib.parse.urlunsplit(urllib.parse.urlsplit(url)._replace(path="/postgres"))


def _exists(conn, name: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def ensure_database(url: str, *, template: str | None = None, log: Callable[[str], None] | None = None) -> None:
    """Create the database unless it exists: a copy of ``template`` when that database exists and is idle (copying
    files takes a minute where loading a million listings takes half an hour), else an empty one."""
    import psycopg

    name = database_name(url)
    with psycopg.connect(_admin_url(url), autocommit=True) as conn:
        if _exists(conn, name):
            return
        if template and _exists(conn, template):
            try:
                if log:
                    log(f"copying {template} (make bench-web's catalog) into {name}")
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
                return
            except psycopg.Error as exc:  # in use: load instead
                if log:
                    log(f"could not copy {template} ({exc}); loading instead")
        if log:
            log(f"creating database {name}")
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    import psycopg

    with psycopg.connect(_admin_url(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database_name(url)}" WITH (FORCE)')


def count_listings(url: str) -> int:
    """Listings in the database (0 when it has no catalog yet)."""
    import psycopg

    try:
        with psycopg.connect(url) as conn:
            return conn.execute("SELECT count(*) FROM catalog_product").fetchone()[0]
    except psycopg.Error:
        return 0


def database_sizes(db_url: str) -> dict[str, int]:
    """Bytes: the whole database, its tables' heap (with TOAST) and its indexes; the biggest indexes by name."""
    import psycopg

    with psycopg.connect(db_url, autocommit=True) as conn:
        total = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
        tables, indexes = conn.execute(
            "SELECT coalesce(sum(pg_table_size(c.oid)), 0), coalesce(sum(pg_indexes_size(c.oid)), 0) "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'm') AND n.nspname = 'public'"
        ).fetchone()
        biggest = conn.execute(
            "SELECT c.relname, pg_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind = 'i' AND n.nspname = 'public' ORDER BY 2 DESC LIMIT 5"
        ).fetchall()
    return {"database": total, "tables": int(tables), "indexes": int(indexes), "biggest": biggest}


def remember_load_time(db_url: str, seconds: float) -> None:
    LOAD_TIMES.parent.mkdir(exist_ok=True)
    known = json.loads(LOAD_TIMES.read_text()) if LOAD_TIMES.exists() else {}
    known[database_name(db_url)] = round(seconds)
    LOAD_TIMES.write_text(json.dumps(known, indent=1))


def known_load_time(db_url: str) -> int | None:
    if not LOAD_TIMES.exists():
        return None
    return json.loads(LOAD_TIMES.read_text()).get(database_name(db_url))


def copy_catalog(source_url: str, target_url: str, *, copies: int, log: Callable[[str], None] = print) -> None:
    """Build ``target_url`` as ``copies`` copies of the catalog in ``source_url``, in SQL (minutes, not hours).

    The target starts as a file copy of the source (``CREATE DATABASE ... TEMPLATE``); each further copy
    inserts every listing again under new ids (the source's id plus a multiple of a million), with its
    photo rows, its implicit offering (the listing's price and quantity, as ``catalog.stock`` gives a plain
    listing) and its search row copied beside it. Triggers are off while copying: the copied search
    vectors and search rows are the originals'. Past orders, reviews and favorites are not copied.
    """
    import psycopg

    name = database_name(target_url)
    source = database_name(source_url)
    with psycopg.connect(_admin_url(target_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        # A template must have no other sessions (a running bench server would hold some).
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    product_columns = (
        "title, slug, description, price, quantity, tags, is_vintage, is_active, view_count, favorite_count, "
        "search_vector, created_at, updated_at, category_id, shop_id, reserved_for_id, personalization, "
        "personalization_max_length, personalization_prompt"
    )
    with psycopg.connect(target_url, autocommit=True) as conn:
        top = conn.execute("SELECT max(id) FROM catalog_product").fetchone()[0]
        step = 10 ** len(str(top))
        for n in range(1, copies):
            started = time.monotonic()
            offset = n * step
            with conn.transaction():
                conn.execute("SET LOCAL session_replication_role = replica")
                conn.execute(
                    f"INSERT INTO catalog_product (id, {product_columns}) "
                    f"SELECT id + %s, {product_columns} FROM catalog_product WHERE id <= %s ORDER BY id",
                    [offset, top],
                )
                conn.execute(
                    "INSERT INTO catalog_productimage (image, thumbnail, alt_text, position, width, height, "
                    "created_at, product_id) SELECT image, thumbnail, alt_text, position, width, height, created_at, "
                    "product_id + %s FROM catalog_productimage WHERE product_id <= %s ORDER BY id",
                    [offset, top],
                )
                conn.execute(
                    "INSERT INTO catalog_offering (product_id, price, quantity, sku, is_enabled) "
                    "SELECT id, price, quantity, '', TRUE FROM catalog_product WHERE id > %s AND id <= %s ORDER BY id",
                    [offset, offset + top],
                )
                conn.execute(
                    "INSERT INTO search_listing (product_id, shop_id, category_id, price, created_at, is_vintage, "
                    "shop_rating, shop_sales_count, search_vector) SELECT product_id + %s, shop_id, category_id, "
                    "price, created_at, is_vintage, shop_rating, shop_sales_count, search_vector "
                    "FROM search_listing WHERE product_id <= %s",
                    [offset, top],
                )
            log(f"copy {n + 1} of {copies} in {time.monotonic() - started:.0f} s")
        conn.execute(
            "SELECT setval(pg_get_serial_sequence('catalog_product', 'id'), (SELECT max(id) FROM catalog_product))"
        )
        conn.execute("VACUUM ANALYZE")


def delete_redis_keys(redis_url: str, pattern: str) -> None:
    """Delete the keys matching ``pattern`` (a run's cache prefix, its Celery queues), a thousand at a time."""
    import redis

    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(pattern, count=1000))
    for i in range(0, len(keys), 1000):
        client.delete(*keys[i : i + 1000])
