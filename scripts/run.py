"""`make run`: bring up the stack, prepare the database once, then serve web + worker + beat.

One process manager (honcho) runs the three processes. The demo accounts are printed last, and again once
the site answers and the processes' start-up lines have settled, so those lines do not bury them. Ctrl-C
stops them all, then the embedded PostgreSQL and Redis are stopped too, and the command ends with status 0
(a requested stop is not a failure: make prints no "Error 130"). Data stays in .data/.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
sys.path.insert(0, str(ROOT / "scripts"))

import devstack  # noqa: E402


def manage(*args: str) -> None:
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, check=True)


def banner(port: int) -> str:
    """Return the address and the demo accounts (each seller with its shop, read from the database)."""
    accounts = subprocess.run(
        [PY, "manage.py", "demo_accounts"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    lines = [
        f"==> Etsy marketplace at http://127.0.0.1:{port}/  (admin: http://127.0.0.1:{port}/admin/)",
        *(f"    {line}" for line in accounts.splitlines()),
        "    Ctrl-C stops web, worker, beat and the embedded services.",
    ]
    return "\n" + "\n".join(lines) + "\n"


def answers(url: str) -> bool:
    """Whether a server answers at ``url`` (any HTTP status counts: it is up)."""
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def supervise(
    command: list[str],
    *,
    env: dict,
    ready_url: str,
    banner_text: str,
    poll_seconds: float = 0.5,
    quiet_seconds: float = 2.0,
    max_wait_seconds: float = 30.0,
) -> int:
    """Run ``command`` until it ends or is stopped, echoing its output.

    Print ``banner_text`` once ``ready_url`` answers and the start-up lines (the worker's and beat's banners)
    have paused for ``quiet_seconds``, so it is the last thing on screen. Ctrl-C and SIGTERM stop the command
    and return 0; otherwise return the command's own exit status.
    """
    child = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    stopping = threading.Event()
    last_output = [time.monotonic()]

    def stop(signum, _frame) -> None:
        stopping.set()
        # Ctrl-C in a terminal reaches the child too; a SIGTERM (kill, a supervisor) reaches only us.
        if child.poll() is None:
            child.send_signal(signum)

    def echo() -> None:
        for line in child.stdout:
            last_output[0] = time.monotonic()
            sys.stdout.write(line)
            sys.stdout.flush()

    def announce_when_up() -> None:
        while not answers(ready_url):
            if stopping.wait(poll_seconds) or child.poll() is not None:
                return
        up = time.monotonic()
        while time.monotonic() - last_output[0] < quiet_seconds and time.monotonic() - up < max_wait_seconds:
            if stopping.wait(poll_seconds) or child.poll() is not None:
                return
        print(banner_text, flush=True)

    # Set explicitly: a shell that starts us in the background hands SIGINT down as ignored.
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    echoing = threading.Thread(target=echo, daemon=True)
    echoing.start()
    threading.Thread(target=announce_when_up, daemon=True).start()
    status = child.wait()
    echoing.join(timeout=5)
    return 0 if stopping.is_set() else status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--products", type=int, default=10000)
    parser.add_argument("--shops", type=int, default=100)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    args = parser.parse_args()

    try:
        devstack.up()
        print("==> migrating", flush=True)
        manage("migrate", "--no-input")
        print("==> collecting static files", flush=True)
        manage("collectstatic", "--no-input", "--verbosity", "0")
        print("==> demo catalog (loaded once; later runs keep what is there)", flush=True)
        manage(
            "load_demo_catalog",
            "--products",
            str(args.products),
            "--shops",
            str(args.shops),
            "--seed",
            "7",
            "--if-empty",
        )
        text = banner(args.port)
    except KeyboardInterrupt:
        print("\n==> stopped before serving", flush=True)
        devstack.down()
        return 0

    env = {**os.environ, "PORT": str(args.port), "PYTHONUNBUFFERED": "1"}
    print(text, flush=True)
    try:
        return supervise(
            [PY, "-m", "honcho", "-f", "Procfile", "start"],
            env=env,
            ready_url=f"http://127.0.0.1:{args.port}/api/health",
            banner_text=text,
        )
    finally:
        devstack.down()


if __name__ == "__main__":
    sys.exit(main())
