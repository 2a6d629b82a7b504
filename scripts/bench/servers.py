"""The servers a bench starts on a loopback port (gunicorn with ``etsy/gunicorn.conf.py``, uvicorn, a Celery
worker), how it waits for them to answer and stops them, and the CPU their processes have used (from /proc).

Each server runs in a session of its own, so stopping its process group stops its workers too; its output
goes to a file under ``.data/``, never a pipe (an undrained pipe would stall the workers).
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from bench import BIN, ROOT

GUNICORN = [str(BIN / "gunicorn"), "etsy.wsgi", "--config", "etsy/gunicorn.conf.py"]


class ServerFailed(RuntimeError):
    """A server exited, or did not answer in time; the message ends with the tail of its log."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(port: int, path: str = "/bench/bare", *, timeout: float = 2.0) -> bool:
    """Whether something on the loopback ``port`` answers ``GET path`` with 200 within ``timeout`` seconds."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def start_process(command: list[str], *, env: dict[str, str], log_path: Path) -> subprocess.Popen:
    """Start ``command`` from the project's root in a session of its own, its output into ``log_path``."""
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def start_server(
    command: list[str], *, env: dict[str, str], port: int, log_path: Path, ready_path: str = "/bench/bare"
) -> subprocess.Popen:
    """Start the server ``command`` on ``port`` and wait until it answers ``ready_path`` with 200 (90 s at most).

    Raises ServerFailed when another server answers on ``port`` already (it would be measured instead of ours),
    or when ours exits or stays silent (it is stopped then).
    """
    refuse_port_in_use(port, ready_path)
    process = start_process(command, env=env, log_path=log_path)
    wait_until_answering(process, port=port, log_path=log_path, ready_path=ready_path)
    return process


def refuse_port_in_use(port: int, path: str = "/bench/bare") -> None:
    """Raises ServerFailed when something answers on ``port`` already (it would be measured instead of ours)."""
    if answers(port, path):
        raise ServerFailed(f"port {port} is in use: pick another with --port")


def wait_until_answering(
    process: subprocess.Popen, *, port: int, log_path: Path, ready_path: str = "/bench/bare"
) -> None:
    """Wait until the server ``process`` answers ``ready_path`` on ``port`` with 200 (90 s at most).

    Raises ServerFailed when it exits, or stays silent (it is stopped then).
    """
    name = Path(process.args[0]).name
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerFailed(f"{name} exited:\n{_tail(log_path)}")
        if answers(port, ready_path):
            return
        time.sleep(0.3)
    stop(process)
    raise ServerFailed(f"{name} did not answer {ready_path}:\n{_tail(log_path)}")


def _tail(log_path: Path) -> str:
    return log_path.read_text(errors="replace")[-3000:] if log_path.exists() else ""


def stop(*processes: subprocess.Popen | None) -> None:
    """SIGTERM each process's group, then SIGKILL what is left after 30 s."""
    running = [p for p in processes if p is not None]
    for process in running:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in running:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# --- CPU of processes (steadier than requests/s on a shared machine) --------------------------------------------
def machine_ticks() -> tuple[int, int]:
    """The machine's CPU ticks so far, (stolen, all): /proc/stat's first line. Steal is the time the hypervisor gave
    this virtual machine's CPUs to others while they had work: a run with much of it measured a slower machine."""
    with open("/proc/stat") as stat:
        fields = [int(x) for x in stat.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal [guest guest_nice: already counted in user and nice]
    return fields[7] if len(fields) > 7 else 0, sum(fields[:8])


def steal_share(before: tuple[int, int], after: tuple[int, int]) -> float:
    """The share of the machine's CPU time stolen between two ``machine_ticks()`` readings, in %."""
    stolen, total = after[0] - before[0], after[1] - before[1]
    return 100.0 * stolen / total if total > 0 else 0.0


def cpu_seconds(pids) -> dict[int, float]:
    """CPU seconds (user + system) each live process of ``pids`` has used so far; processes gone are left out."""
    found = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return found


def cpu_spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two samples, process by process: a process that started meanwhile counts in
    full, one that ended is lost from both sides (a PostgreSQL backend replaced after ``CONN_MAX_AGE`` would
    otherwise take its whole past off the total)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            children = []
        todo += [int(c) for c in children]
    return found


def group_members(pgid: int) -> list[int]:
    """The processes of the process group ``pgid`` (a server started by ``start_process``: master and workers)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[2]) == pgid:
                    pids.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return pids


# --- idle again ---------------------------------------------------------------------------------------------------
def wait_until_idle(port: int, *, limit_s: float = 120.0) -> None:
    """Wait for the requests a run left queued at the server (the bare view answers fast again)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        started = time.monotonic()
        answers(port, timeout=30)
        if time.monotonic() - started < 0.1:
            return
        time.sleep(0.5)


def wait_until_quiet(pid: int, *, limit_s: float = 120.0, busy_share: float = 0.05) -> bool:
    """Wait until ``pid`` (and its children) use less than ``busy_share`` of a core over half a second; return
    whether it did within ``limit_s``."""
    deadline = time.monotonic() + limit_s
    pids = descendants(pid)
    before = cpu_seconds(pids)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        after = cpu_seconds(pids)
        if cpu_spent(before, after) < busy_share * 0.5:
            return True
        before = after
    return False
