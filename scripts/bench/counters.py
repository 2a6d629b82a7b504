"""What a server did during a bench run: the app's cache misses, near-cache hits and page builds (from its
``/metrics``), the database's transactions, and the CPU the server's processes and the database backends serving it
used (from /proc). A run's deltas explain its outliers; its CPU per request moves less with the machine's other
load than its throughput does.
"""

from __future__ import annotations

import http.client
import re
from pathlib import Path

from bench.databases import database_name
from bench.servers import cpu_seconds, group_members

_MISSES = re.compile(r'^etsy_cache_misses_total\{cache_type="([^"]+)"\} ([0-9.e+]+)$', re.M)
_NEAR_HITS = re.compile(r"^etsy_near_cache_hits_total ([0-9.e+]+)$", re.M)
_BUILDS = re.compile(r"^etsy_page_build(s|_queries|_seconds|_cpu_seconds)_total\{([^}]*)\} ([0-9.e+-]+)$", re.M)
_LABEL = re.compile(r'(\w+)="([^"]*)"')
_REVALIDATIONS = re.compile(r"^etsy_page_revalidations_total\{([^}]*)\} ([0-9.e+-]+)$", re.M)


def _milliseconds(seconds: float) -> int:
    return round(seconds * 1000)


def server_counters(port: int, db_url: str, *, metrics_token: str, server_pgid: int | None = None) -> dict[str, int]:
    """The app's cache misses by type, its near-cache hits and the database's transactions so far, and the CPU
    the server's processes and the database's backends serving it have used (``server_pgid``; a local server).

    A run's deltas explain its outliers; its CPU per request moves less with the machine's other load than its
    throughput does (it still moves: CPUs shared with other work run each request slower).
    """
    import psycopg

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/metrics", headers={"Authorization": f"Bearer {metrics_token}"})
    text = conn.getresponse().read().decode()
    counts = {f"{kind} misses": int(float(n)) for kind, n in _MISSES.findall(text)}
    counts["near-cache hits"] = int(sum(float(n) for n in _NEAR_HITS.findall(text)))
    # Pages built by a request (inline) or by a refresher thread, with the queries and milliseconds they took.
    for what, labels, n in _BUILDS.findall(text):
        label = dict(_LABEL.findall(labels))
        measure = {"s": "built", "_queries": "build queries", "_seconds": "build ms", "_cpu_seconds": "build CPU ms"}[
            what
        ]
        value = float(n) * 1000 if what.endswith("_seconds") else float(n)
        counts[f"{label.get('kind', '?')} {measure} by {label.get('by', '?')}"] = int(value)
    for labels, n in _REVALIDATIONS.findall(text):  # due copies the refresher checked: kept, or rebuilt
        label = dict(_LABEL.findall(labels))
        counts[f"{label.get('kind', '?')} checked and {label.get('outcome', '?')}"] = int(float(n))
    name = database_name(db_url)
    with psycopg.connect(db_url, autocommit=True) as db:
        row = db.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s", [name])
        counts["database transactions"] = int(row.fetchone()[0])
        backends = db.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [name]
        ).fetchall()
    if server_pgid is not None and Path("/proc").is_dir():
        counts["server CPU ms"] = _milliseconds(sum(cpu_seconds(group_members(server_pgid)).values()))
        # Per backend: one that ends within a run takes its CPU with it, one that starts counts from zero.
        counts.update(
            {
                f"database CPU ms of {pid}": _milliseconds(s)
                for pid, s in cpu_seconds(pid for (pid,) in backends).items()
            }
        )
    return counts


def cpu_per_request(before: dict[str, int], after: dict[str, int], requests: int) -> float:
    """Server and database CPU ms per request between two ``server_counters`` readings."""
    used = after.get("server CPU ms", 0) - before.get("server CPU ms", 0)
    used += sum(ms - before.get(k, 0) for k, ms in after.items() if k.startswith("database CPU ms of "))
    return used / max(1, requests)


def counter_deltas(before: dict[str, int], after: dict[str, int]) -> str:
    moved = {
        k: after[k] - before.get(k, 0)
        for k in after
        if after[k] - before.get(k, 0) and not k.startswith(("server CPU ms", "database CPU ms"))  # cpu_per_request
    }
    return ", ".join(f"{n} {k}" for k, n in sorted(moved.items(), key=lambda kv: -kv[1])) or "no misses"
