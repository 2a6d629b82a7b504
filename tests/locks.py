"""Waiting, in a test, for another transaction to queue behind this connection's locks."""

from __future__ import annotations

import time

from django.db import connection


def wait_until_another_backend_waits_for_mine(*, timeout: float = 10.0, who: str = "the other writer") -> None:
    """Return once another PostgreSQL backend is blocked by this connection's locks; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE pg_backend_pid() = ANY (pg_blocking_pids(pid))")
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError(f"{who} never waited")
