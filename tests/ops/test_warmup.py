"""A new web worker is warmed before its first request (etsy.warmup, gunicorn's post_worker_init), a new Celery
worker process before its first task (worker_process_init)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.db import connections

from tests.local_services import free_port
from tests.ops.conftest import ROOT
from tests.worker import celery_worker  # noqa: F401  (pytest fixture)

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


def run_probe(code: str = PROBE, **env: str) -> dict:
    db = connections["default"].settings_dict
    result = subprocess.run(
        [sys.executable, "-c", code],
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


TASK_WORKER_PROBE = """
import json
import django
django.setup()
from django.db import connection
from django.template import engines

environment = engines["emails"].env
before = {"emails": len(environment.cache), "database": connection.connection is not None}
from etsy.warmup import warm_up_task_worker
outcomes = warm_up_task_worker()
after = {"emails": len(environment.cache), "database": connection.connection is not None}
print(json.dumps({"before": before, "after": after, "outcomes": outcomes}))
"""


@pytest.mark.django_db
def test_task_worker_warm_up_compiles_every_email_template_and_opens_its_connections():
    probe = run_probe(code=TASK_WORKER_PROBE)

    assert probe["outcomes"] == {"emails": "ok", "connections": "ok"}
    templates = [p for p in (ROOT / "templates_jinja2" / "emails").iterdir() if p.suffix in {".html", ".txt"}]
    assert probe["before"] == {"emails": 0, "database": False}
    assert probe["after"] == {"emails": len(templates), "database": True}
    assert len(templates) > 40


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_celery_worker_process_warms_up_before_its_first_task(celery_worker):  # noqa: F811
    warmed = [line for line in celery_worker.log().splitlines() if "worker warmed up" in line]

    assert len(warmed) == 1, celery_worker.log()[-3000:]
    assert "task worker" in warmed[0]
    assert "failed" not in celery_worker.log()


def test_every_gunicorn_worker_warms_up_before_serving(gunicorn_server):
    warmed = [r for r in gunicorn_server.log_records() if r.get("event") == "worker warmed up"]

    assert len(warmed) >= gunicorn_server.workers
    assert all(r["urlconf"] == r["templates"] == r["connections"] == "ok" for r in warmed)
    # Each from a worker, not the master: gunicorn forks the workers before post_worker_init.
    assert {r["pid"] for r in warmed} >= gunicorn_server.worker_pids()


def test_a_warming_pool_process_has_far_longer_than_its_warm_up_to_report_ready():
    from etsy.celery import app

    # Celery restarts a pool process that has not reported ready in time; its default of 4 s is within reach of a
    # warm-up on a busy machine (1-1.4 s measured with nine processes starting on two cores).
    assert app.conf.worker_proc_alive_timeout >= 20
