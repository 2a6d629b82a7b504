"""The load generators: wrk for saturation (a bounded number of keep-alive connections, as fast as they go),
a Python closed or open loop over a set of GET paths, the open-loop schedule of a mix of requests, and the small
HTTP helpers the benches send writes with. Open loops measure latency from each request's scheduled send time,
so a slow server cannot hide its queue (no coordinated omission).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

# wrk's report, appended to each bench's Lua script (its ``request`` function): one JSON line the bench parses.
WRK_REPORT_LUA = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"p50":%d,"p95":%d,"p99":%d,"socket_errors":%d,"bad_status":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
"""


def ensure_wrk(log: Callable[[str], None]) -> str | None:
    """The path of ``wrk``, installed from Debian's package when missing; None when it cannot be."""
    found = shutil.which("wrk")
    if found:
        return found
    log("installing Debian's wrk")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    try:
        subprocess.run(
            [*sudo, "apt-get", "install", "-y", "-qq", "wrk"],
            check=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            stdout=subprocess.DEVNULL,
        )
    except (subprocess.CalledProcessError, FileNotFoundError):
        log("wrk unavailable: the saturation phase uses the Python load generator instead")
        return None
    return shutil.which("wrk")


def parse_wrk_report(output: str) -> dict:
    """requests/s, p50/p95/p99 ms, errors (socket errors and non-2xx/3xx answers) and requests of wrk's output."""
    match = re.search(r"BENCH (\{.*\})", output)
    if not match:
        raise SystemExit(f"wrk produced no result:\n{output}")
    r = json.loads(match.group(1))
    return {
        "rps": r["requests"] / (r["duration_us"] / 1e6),
        "p50": r["p50"] / 1000,
        "p95": r["p95"] / 1000,
        "p99": r["p99"] / 1000,
        "errors": r["socket_errors"] + r["bad_status"],
        "requests": r["requests"],
    }


def run_wrk(
    request_lua: str,
    *,
    port: int,
    seconds: int,
    connections: int,
    timeout_s: int,
    files: dict[str, str],
    env: dict[str, str] | None = None,
    wrk: str = "wrk",
) -> dict:
    """Run wrk (2 threads) for ``seconds`` against the loopback ``port`` with ``request_lua`` (its ``request``
    function) and the shared report; return ``parse_wrk_report``'s figures.

    ``files``: environment variable -> text; each text is written to a file of its own and the variable names its
    path (the Lua script reads its paths, tokens or listings from there). ``env``: further variables.
    """
    with tempfile.TemporaryDirectory() as tmp:
        run_env = {**os.environ, **(env or {})}
        for name, text in files.items():
            path = Path(tmp) / name.lower()
            path.write_text(text)
            run_env[name] = str(path)
        lua = Path(tmp) / "bench.lua"
        lua.write_text(request_lua + WRK_REPORT_LUA)
        command = [wrk, "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--timeout", f"{timeout_s}s"]
        out = subprocess.run(
            [*command, "-s", str(lua), f"http://127.0.0.1:{port}"],
            env=run_env,
            capture_output=True,
            text=True,
            timeout=seconds + 60,
        ).stdout
    return parse_wrk_report(out)


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, the nearest rank of ``q`` % of the way; NaN when empty."""
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def run_python_load(
    port: int, paths: list[str], *, seconds: float, connections: int, cookie: str = "", rate: float | None = None
) -> dict:
    """GET ``paths`` in turn: closed loop (rate=None: as fast as the connections go) or open loop at ``rate``
    requests/s, latency from the scheduled send."""
    latencies: list[float] = []
    errors = [0]
    statuses: dict[int | str, int] = {}
    lock = threading.Lock()
    start = time.monotonic() + 0.2
    deadline = start + seconds
    slots = iter(range(10**9))
    headers = {"Cookie": cookie} if cookie else {}

    def worker(wid: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        local, errs = [], 0
        while True:
            with lock:
                n = next(slots)
            if rate is not None:
                scheduled = start + n / rate
                if scheduled >= deadline:
                    break
                delay = scheduled - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            else:
                scheduled = time.monotonic()
                if scheduled >= deadline:
                    break
            path = paths[(n * 7919) % len(paths)]
            try:
                conn.request("GET", path, headers=headers)
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    errs += 1
                    with lock:
                        statuses[resp.status] = statuses.get(resp.status, 0) + 1
            except (OSError, http.client.HTTPException) as exc:
                errs += 1
                with lock:
                    statuses[type(exc).__name__] = statuses.get(type(exc).__name__, 0) + 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            local.append((time.monotonic() - scheduled) * 1000)
        conn.close()
        with lock:
            latencies.extend(local)
            errors[0] += errs

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 30)
    elapsed = max(1e-9, min(time.monotonic(), deadline + 5) - start)
    return {
        "rps": len(latencies) / elapsed,
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "p99": percentile(latencies, 99),
        "errors": errors[0],
        "requests": len(latencies),
        "statuses": statuses,
    }


def open_loop_schedule(rates: dict[str, float], seconds: float) -> list[tuple[float, str, int]]:
    """The sends of an open-loop mix: ``(offset s, kind, i)`` for the i-th request of each kind at its rate over
    ``seconds``, in order of offset (each kind's first at 0)."""
    schedule = []
    for kind, rate in rates.items():
        schedule += [(i / rate, kind, i) for i in range(int(rate * seconds))]
    schedule.sort()
    return schedule


def post_json(conn: http.client.HTTPConnection, path: str, body: dict, headers: dict) -> int:
    """POST ``body`` as JSON on the open connection; return the status (the answer is read and dropped)."""
    conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json", **headers})
    response = conn.getresponse()
    response.read()
    return response.status
