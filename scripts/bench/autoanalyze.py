"""Planner statistics during a bench, as autovacuum keeps them on a production server.

A server with ``autovacuum = off`` (this kind of machine's shared PostgreSQL) never analyzes the tables a write
bench fills from nothing: orders, their items, the ledger and the outbox keep no statistics, so their prepared
statements' plans guess, and a guessed plan over a growing table is a sequential scan that costs more on every
checkout of the run. That is this machine's setting, not production's. While it is off, ``AutoAnalyze`` applies
autovacuum's own rule to the bench's database: every ``naptime`` seconds, ``ANALYZE`` each table whose rows changed
since its last analysis exceed ``autovacuum_analyze_threshold + autovacuum_analyze_scale_factor × rows`` (the
server's settings, 50 + 10 % by default), and ``VACUUM`` each whose dead rows exceed the vacuum rule. Its naptime is
shorter than the server's (60 s): a bench's tables grow from nothing in seconds, where a shop's grow over months.
With autovacuum on it does nothing: the server's own keeps the statistics.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

# n_mod_since_analyze / n_dead_tup against the server's own thresholds (reltuples < 0: never analyzed, 0 rows known).
_DUE_SQL = """
SELECT s.relname,
       s.n_mod_since_analyze > current_setting('autovacuum_analyze_threshold')::float
           + current_setting('autovacuum_analyze_scale_factor')::float * greatest(c.reltuples, 0),
       s.n_dead_tup > current_setting('autovacuum_vacuum_threshold')::float
           + current_setting('autovacuum_vacuum_scale_factor')::float * greatest(c.reltuples, 0)
  FROM pg_stat_user_tables AS s JOIN pg_class AS c ON c.oid = s.relid
 WHERE s.schemaname = 'public'
"""


def autovacuum_is_on(db_url: str) -> bool:
    import psycopg

    with psycopg.connect(db_url, autocommit=True) as conn:
        return conn.execute("SHOW autovacuum").fetchone()[0] == "on"


def run_due(conn) -> tuple[int, int]:
    """Analyze and vacuum the tables autovacuum's rule finds due now; return how many of each."""
    from psycopg import sql

    analyzed = vacuumed = 0
    for table, analyze_due, vacuum_due in conn.execute(_DUE_SQL).fetchall():
        if vacuum_due:
            also = sql.SQL("true" if analyze_due else "false")
            conn.execute(sql.SQL("VACUUM (ANALYZE {}) {}").format(also, sql.Identifier(table)))
            vacuumed += 1
            analyzed += bool(analyze_due)
        elif analyze_due:
            conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
            analyzed += 1
    return analyzed, vacuumed


class AutoAnalyze:
    """A daemon thread standing in for autovacuum on the bench's database while the server's is off."""

    def __init__(self, db_url: str, *, naptime: float = 10.0, log: Callable[[str], None] = print) -> None:
        self.db_url, self.naptime, self.log = db_url, naptime, log
        self.analyzed = self.vacuumed = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> AutoAnalyze:
        if autovacuum_is_on(self.db_url):
            return self
        self.log(
            f"autovacuum is off on this server: the bench analyzes and vacuums its tables by autovacuum's rule "
            f"every {self.naptime:g} s (scripts/bench/autoanalyze.py)"
        )
        self._thread = threading.Thread(target=self._run, name="bench-autoanalyze", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=60)
            self.log(f"autovacuum stand-in: {self.analyzed} tables analyzed, {self.vacuumed} vacuumed")

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(self.db_url, autocommit=True) as conn:
            while True:
                analyzed, vacuumed = run_due(conn)
                self.analyzed += analyzed
                self.vacuumed += vacuumed
                if self._stop.wait(self.naptime):
                    return
