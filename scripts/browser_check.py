"""Tell the user, before the suite runs, whether the real-browser tests can run here."""

import shutil

CHROMIUM = "/usr/bin/chromium"

if shutil.which(CHROMIUM):
    print(f"[test] Chromium found at {CHROMIUM}: browser tests will run")
else:
    print(
        f"[test] Chromium not found at {CHROMIUM}: the browser tests (marker 'browser') will be SKIPPED.\n"
        "[test] Install it with: apt-get install -y chromium   (CI's .ci/run does this)"
    )
