"""`make run`: bring up the stack, prepare the database once, then serve web + worker + beat.

One process manager (honcho) runs the three processes; Ctrl-C stops them all,
then the embedded PostgreSQL and Redis are stopped too. Data stays in .data/.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
sys.path.insert(0, str(ROOT / "scripts"))

import devstack  # noqa: E402


def manage(*args: str) -> None:
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--products", type=int, default=10000)
    parser.add_argument("--shops", type=int, default=100)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    args = parser.parse_args()

    devstack.up()
    print("==> migrating", flush=True)
    manage("migrate", "--no-input")
    print("==> collecting static files", flush=True)
    manage("collectstatic", "--no-input", "--verbosity", "0")
    print("==> demo catalog (loaded once; later runs keep what is there)", flush=True)
    manage(
        "load_demo_catalog", "--products", str(args.products), "--shops", str(args.shops), "--seed", "7", "--if-empty"
    )

    env = {**os.environ, "PORT": str(args.port), "PYTHONUNBUFFERED": "1"}
    print(
        f"\n==> Etsy marketplace at http://127.0.0.1:{args.port}/  (admin: http://127.0.0.1:{args.port}/admin/)\n"
        "    demo accounts (password for all: demo-pass-2024)\n"
        "      buyer   buyer@demo.test\n"
        "      seller  seller1@demo.test   (shop owner, sees only their shop in the admin)\n"
        "      seller  seller2@demo.test\n"
        "      admin   admin@demo.test     (superuser)\n"
        "    Ctrl-C stops web, worker, beat and the embedded services.\n",
        flush=True,
    )
    honcho = subprocess.Popen([PY, "-m", "honcho", "-f", "Procfile", "start"], cwd=ROOT, env=env)

    def stop(signum, _frame) -> None:
        # Ctrl-C in a terminal reaches honcho too; a SIGTERM (kill, a supervisor) reaches only us.
        honcho.send_signal(signum)

    # Set explicitly: a shell that starts us in the background hands SIGINT down as ignored.
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        return honcho.wait()
    finally:
        devstack.down()


if __name__ == "__main__":
    sys.exit(main())
