"""The load benchmark, short: buyers race for unique items through the API of a 2-worker gunicorn
on the test database for 10 s, then the books must balance (scripts/bench_load.py's race and checks, from
scripts/bench/race.py and books.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from django.conf import global_settings
from django.db import connection
from django.test.utils import override_settings

from etsy.breakers import reset_all

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "scripts") not in sys.path:
    sys.path.insert(0, str(ROOT / "scripts"))  # as `python scripts/bench_load.py` has it

from bench import books as bench_books  # noqa: E402
from bench import race, servers  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_buyers_racing_through_the_api_never_oversell_and_the_books_balance(tmp_path, capsys, no_vocabulary_refresh):
    reset_all()
    with override_settings(PASSWORD_HASHERS=global_settings.PASSWORD_HASHERS):  # what the server verifies with
        data = race.seed(shops=3, unique=16, stocked=2, stock=12, buyers=6)
    db = connection.settings_dict
    database_url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    process, base_url = race.start_gunicorn(
        database_url=database_url, workers=2, log_path=tmp_path / "gunicorn.log", extra_env={"DB_CONN_MAX_AGE": "0"}
    )
    try:
        tally = race.drive(base_url=base_url, data=data, duration=10, concurrency=6)
    finally:
        servers.stop(process)
    books = bench_books.check_books(data=data, tally=tally)
    report = bench_books.summary(tally=tally, books=books, duration=10, workers=2, concurrency=6)
    with capsys.disabled():
        print(
            "\nbench-load (short):",
            json.dumps(
                {k: report[k] for k in ("attempts", "checkouts", "orders", "conflicts", "replays", "errors_5xx")}
            ),
            json.dumps({k: v for k, v in report["latency_ms"].items() if k in ("cart_add", "checkout")}),
        )
    failed = {name: detail for name, (ok, detail) in books.items() if not ok}
    assert not failed, failed
    assert report["unexpected"] == {}
    assert tally.checkouts_ok > 0 and tally.conflicts > 0  # there really was a race
