"""What the benchmark scripts (``scripts/bench_web.py``, ``bench_writes.py``, ``bench_load.py``) are made of, by
capability; the scripts themselves are the command lines.

Shared: ``databases`` (each bench's own database, named after ``DATABASE_URL``'s: created, copied, sized; its
Redis keys), ``servers`` (gunicorn, uvicorn or a Celery worker on a loopback port: started, awaited, stopped,
their processes' CPU), ``drivers`` (wrk, the Python closed and open loops, the open-loop schedule), ``report``
(percentiles, paired-run medians, the tables) and ``seeds`` (shops, listings and buyers made for a bench).
One bench's own: ``pages`` and ``counters`` (bench_web's URLs, signed-in buyer and server counters),
``write_load`` (bench_writes' requests), ``race`` and ``books`` (bench_load's buyers and the books they must
balance).

The scripts run with ``scripts/`` first on ``sys.path`` (as ``python scripts/bench_web.py`` has it), so
``bench`` and ``production_profile`` import as top-level modules.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
PYTHON = str(_VENV_PYTHON) if _VENV_PYTHON.exists() else sys.executable
BIN = Path(PYTHON).parent  # the virtualenv's commands: gunicorn, celery, uvicorn
