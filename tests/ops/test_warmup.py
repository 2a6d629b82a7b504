"""A new web worker is warmed before its first request (etsy.warmup, gunicorn's post_worker_init)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.db import connections

from tests.local_services import free_port
from tests.ops.conftest import ROOT

# Run in a fresh interpreter: this test process has long imported the URLconf and opened its connections.
PROBE = """
import gc, json, sys
import django
django.setup()
from django.conf import settings
from django.db import connection
from django.template import engines

def state():
    loader = engines["django"].engine.template_loaders[0]
    return {
        "urlconf": settings.ROOT_URLCONF in sys.modules,
        "api_views": "orders.api.views" in sys.modules,
        "templates": len(loader.get_template_cache),
        "database": connection.connection is not None,
        "frozen": gc.get_freeze_count(),
    }

before = state()
from etsy.warmup import warm_up
outcomes = warm_up()
print(json.dumps({"before": before, "after": state(), "outcomes": outcomes}))
"""


def run_probe(**env: str) -> dict:
    db = connections["default"].settings_dict
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.ops.settings_gunicorn",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            "LOG_FORMAT": "json",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.django_db
def test_warm_up_imports_the_views_compiles_the_templates_opens_connections_and_freezes():
    probe = run_probe()

    assert probe["outcomes"] == {"urlconf": "ok", "templates": "ok", "celery": "ok", "connections": "ok"}
    before, after = probe["before"], probe["after"]
    assert before == {"urlconf": False, "api_views": False, "templates": 0, "database": False, "frozen": 0}
    assert after["urlconf"] and after["api_views"] and after["database"]
    # Every page template of templates/ (the emails are in templates_jinja2/), and the ones they extend or include.
    pages = list((ROOT / "templates").rglob("*.html"))
    assert after["templates"] >= len(pages) > 50
    assert after["frozen"] > 50_000


@pytest.mark.django_db
def test_a_broker_that_is_down_is_skipped_and_the_rest_still_warms():
    probe = run_probe(CELERY_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0")

    assert probe["outcomes"]["connections"] != "ok"
    assert {k: v for k, v in probe["outcomes"].items() if k != "connections"} == {
        "urlconf": "ok",
        "templates": "ok",
        "celery": "ok",
    }
    assert probe["after"]["urlconf"] and probe["after"]["frozen"] > 0


def test_every_gunicorn_worker_warms_up_before_serving(gunicorn_server):
    warmed = [r for r in gunicorn_server.log_records() if r.get("event") == "worker warmed up"]

    assert len(warmed) >= gunicorn_server.workers
    assert all(r["urlconf"] == r["templates"] == r["connections"] == "ok" for r in warmed)
    # Each from a worker, not the master: gunicorn forks the workers before post_worker_init.
    assert {r["pid"] for r in warmed} >= gunicorn_server.worker_pids()
