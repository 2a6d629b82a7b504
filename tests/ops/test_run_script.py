"""`make run` for a newcomer: the banner comes once the site answers, Ctrl-C is a clean stop (issue 19, item 18)."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command

from demo.loader import iter_shops
from tests.local_services import free_port

ROOT = Path(__file__).resolve().parents[2]

# A stand-in for honcho: serves HTTP, keeps printing start-up lines for a while (the worker's and beat's banners
# come after the web server answers), and like honcho ends with 130 on Ctrl-C.
CHILD = (
    "import http.server, signal, sys, threading, time\n"
    "signal.signal(signal.SIGINT, lambda *a: sys.exit(130))\n"
    "server = http.server.HTTPServer(('127.0.0.1', {port}), http.server.SimpleHTTPRequestHandler)\n"
    "threading.Thread(target=server.serve_forever, daemon=True).start()\n"
    "for i in range(6):\n"
    "    time.sleep(0.2)\n"
    "    print('worker start-up line', i, flush=True)\n"
    "threading.Event().wait()\n"
)
SUPERVISOR = (
    "import os, sys\n"
    "sys.path.insert(0, 'scripts')\n"
    "import run\n"
    "sys.exit(run.supervise([sys.executable, '-c', {child!r}], env=dict(os.environ),\n"
    "    ready_url='http://127.0.0.1:{port}/', banner_text='DEMO-BANNER', poll_seconds=0.1, quiet_seconds=0.6))\n"
)


def _read_until(process, marker: str, seconds: float = 20) -> str:
    seen = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if marker in line:
            return "".join(seen)
    pytest.fail(f"{marker!r} never printed; got {''.join(seen)!r}")


def test_banner_comes_last_and_ctrl_c_stops_everything_with_status_zero():
    port = free_port()
    script = SUPERVISOR.format(child=CHILD.format(port=port), port=port)
    # A terminal's Ctrl-C reaches the whole foreground process group: make, run.py and honcho.
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        before = _read_until(process, "DEMO-BANNER").split("DEMO-BANNER")[0]
        # Printed once the server answered and its start-up lines were over: the last thing on screen.
        assert re.search(r'"GET / HTTP/1\.[01]" 200', before)
        assert "worker start-up line 5" in before
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    with pytest.raises(ProcessLookupError):
        os.killpg(process.pid, 0)  # nothing of the group is left running


def test_sigterm_stops_the_processes_and_ends_with_status_zero():
    port = free_port()
    script = SUPERVISOR.format(child=CHILD.format(port=port).replace("SIGINT", "SIGTERM"), port=port)
    process = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        _read_until(process, "DEMO-BANNER")
        process.terminate()  # only run.py gets it: it must pass it on
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()


def test_readme_names_the_shop_each_demo_seller_owns():
    readme = (ROOT / "README.md").read_text()
    run_args = re.search(r'"--seed",\s*"(\d+)"', (ROOT / "scripts" / "run.py").read_text())
    makefile = (ROOT / "Makefile").read_text()
    shops = int(re.search(r"^DEMO_SHOPS \?= (\d+)$", makefile, re.M).group(1))
    for spec in iter_shops(seed=int(run_args.group(1)), shops=shops)[:2]:
        row = next(line for line in readme.splitlines() if f"`{spec.owner_email}`" in line)
        assert spec.name in row, row


@pytest.mark.django_db
def test_demo_accounts_banner_names_each_sellers_shop(settings, tmp_path, capsys):
    settings.MEDIA_ROOT = tmp_path
    call_command("load_demo_catalog", products=40, shops=3, seed=7, verbosity=0)
    capsys.readouterr()
    call_command("demo_accounts")
    out = capsys.readouterr().out
    for spec in iter_shops(seed=7, shops=3)[:2]:
        assert re.search(rf"seller\s+{re.escape(spec.owner_email)}\s+owns {re.escape(spec.name)}", out), out
    assert "buyer@demo.test" in out and "admin@demo.test" in out and "demo-pass-2024" in out
