"""The benches' stand-in for autovacuum (scripts/bench/autoanalyze.py) applies autovacuum's rule on real PostgreSQL:
a table whose changed rows pass the analyze threshold is analyzed once, and not again until it changes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from django.db import connection

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))

from bench.autoanalyze import run_due  # noqa: E402

pytestmark = pytest.mark.django_db(transaction=True)

TABLE = "bench_autoanalyze_probe"


@pytest.fixture
def raw():
    connection.ensure_connection()
    conn = connection.connection  # autocommit, as the bench's own connection is (VACUUM refuses a transaction)
    conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
    conn.execute(f"CREATE TABLE {TABLE} (id int PRIMARY KEY, note text)")
    yield conn
    conn.execute(f"DROP TABLE IF EXISTS {TABLE}")


def _counts(conn) -> tuple[int, int]:
    conn.execute("SELECT pg_stat_force_next_flush()")  # this session's counters, now rather than within a second
    conn.execute("SELECT pg_stat_clear_snapshot()")
    return conn.execute(
        "SELECT analyze_count, vacuum_count FROM pg_stat_user_tables WHERE relname = %s", [TABLE]
    ).fetchone()


def _write(conn, rows: range) -> None:
    conn.execute(f"INSERT INTO {TABLE} SELECT g, 'x' FROM generate_series(%s, %s) AS g", [rows.start, rows.stop - 1])


def test_a_table_past_the_analyze_threshold_is_analyzed_once(raw):
    threshold = int(raw.execute("SHOW autovacuum_analyze_threshold").fetchone()[0])
    _write(raw, range(1, threshold))  # under the threshold of a table known empty
    _counts(raw)
    run_due(raw)
    assert _counts(raw) == (0, 0)

    _write(raw, range(threshold, threshold + 200))
    _counts(raw)
    run_due(raw)
    assert _counts(raw) == (1, 0)

    run_due(raw)  # nothing changed since
    assert _counts(raw) == (1, 0)


def test_a_table_past_the_vacuum_threshold_is_vacuumed_and_analyzed(raw):
    _write(raw, range(1, 1001))
    _counts(raw)
    run_due(raw)
    assert _counts(raw) == (1, 0)

    raw.execute(f"DELETE FROM {TABLE} WHERE id <= 600")  # dead rows past 50 + 20 % of 1,000
    _counts(raw)
    run_due(raw)
    assert _counts(raw) == (2, 1)
