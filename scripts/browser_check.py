"""Tell the user, before the suite runs, whether the real-browser tests can run here."""

import shutil
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"

if shutil.which(CHROMIUM):
    print(f"[test] Chromium found at {CHROMIUM}: browser tests will run")
else:
    print(
        f"[test] Chromium not found at {CHROMIUM}: the browser tests (marker 'browser') will be SKIPPED.\n"
        "[test] Install it with: apt-get install -y chromium   (CI's .ci/run does this)"
    )

if AXE.exists():
    print("[test] axe-core found: the accessibility tests will run")
else:
    print(
        "[test] axe-core not found (node_modules/axe-core): the accessibility tests will be SKIPPED.\n"
        "[test] Install it with: npm ci   (`make test` and CI's .ci/run do this when npm is installed)"
    )
