"""Warm a new web worker before it takes its first request (gunicorn's ``post_worker_init``, etsy/gunicorn.conf.py),
and a new Celery worker process before its first task (``worker_process_init``, etsy/celery.py).

A worker that has just loaded the WSGI application has not yet imported the URLconf, and with it every view,
serializer and library the views use, nor compiled the page templates, nor opened its PostgreSQL, Redis and broker
connections: its first requests do all that. Measured in one process (the production settings, the test
payment provider), the first 3-shop checkout of a new process cost about 370 ms of CPU and the next ones about
20 ms. A worker starts on every deploy and after every ``WEB_MAX_REQUESTS`` requests, so a buyer paid that.

``warm_up`` does that work before gunicorn hands the worker a connection, then moves what the worker holds into
the collector's permanent generation (``gc.freeze``): those long-lived objects (some 200,000) are then never
scanned again by a full collection, which otherwise stops the worker for tens of milliseconds. A dependency that
is down is logged and skipped: the worker starts as it would have without the warm-up.

A Celery worker process has imported its tasks (the app's autodiscovery) but not compiled the email templates
(another engine's, templates_jinja2/) nor opened its PostgreSQL and cache connections: its first task did that,
the first checkout's emails after every start. ``warm_up_task_worker`` does it before the pool takes a task.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable
from pathlib import Path

import structlog
from django.conf import settings

logger = structlog.get_logger("etsy.warmup")


def import_urlconf() -> None:
    """Import the URLconf, and through it every view module, and build the resolver's reverse lookup."""
    from django.urls import get_resolver

    get_resolver().reverse_dict  # noqa: B018 (the property builds the lookup over every pattern)


def compile_templates() -> int:
    """Load every page template of the project's template directory into the cached loader; return how many
    (the emails, the Celery worker's, are another engine's: templates_jinja2/)."""
    from django.template.loader import get_template

    count = 0
    for directory in settings.TEMPLATES[0]["DIRS"]:
        root = Path(directory)
        for path in sorted(root.rglob("*.html")):
            get_template(path.relative_to(root).as_posix())
            count += 1
    return count


def compile_email_templates() -> int:
    """Compile every email template (the ``emails`` Jinja2 engine's, etsy/emails.py) into its cache; return how many."""
    from django.template import engines

    environment = engines["emails"].env
    names = environment.list_templates(filter_func=lambda name: name.startswith("emails/"))
    for name in names:
        environment.get_template(name)
    return len(names)


def load_celery() -> None:
    """Finalize the Celery app (its task registry) and load its result backend, as a request's first task would."""
    from etsy.celery import app

    app.tasks  # noqa: B018 (the property finalizes the app)
    app.backend  # noqa: B018 (the property loads the backend class through the package's entry points)


def open_database_and_cache() -> None:
    """Open PostgreSQL and the cache's Redis, as a first request or task would."""
    from django.db import connection
    from django_redis import get_redis_connection

    connection.ensure_connection()
    get_redis_connection("default").ping()


def open_connections() -> None:
    """Open the connections a request would open: PostgreSQL, the cache's Redis, the Celery broker."""
    from etsy.celery import app

    open_database_and_cache()
    with app.producer_or_acquire() as producer:
        producer.connection.connect()  # one attempt: a broker that is down is the first task's concern


STEPS: dict[str, Callable[[], object]] = {
    "urlconf": import_urlconf,
    "templates": compile_templates,
    "celery": load_celery,
    "connections": open_connections,
}


# A Celery worker process: its tasks are imported, and it publishes through its own pool when a task sends one.
TASK_WORKER_STEPS: dict[str, Callable[[], object]] = {
    "emails": compile_email_templates,
    "connections": open_database_and_cache,
}


def warm_up_task_worker() -> dict[str, str]:
    """Warm a new Celery worker process (``TASK_WORKER_STEPS``), then freeze; return each step's outcome."""
    return warm_up(TASK_WORKER_STEPS, what="task worker")


def warm_up(steps: dict[str, Callable[[], object]] | None = None, *, what: str = "web worker") -> dict[str, str]:
    """Run every step (the web worker's ``STEPS`` unless given), then freeze what the process holds; return each
    step's outcome (``ok`` or the error)."""
    started = time.perf_counter()
    outcomes: dict[str, str] = {}
    for name, step in (STEPS if steps is None else steps).items():
        try:
            step()
        except Exception as exc:  # a dependency down at start: the first request meets it, as without warming
            outcomes[name] = type(exc).__name__
            logger.warning("worker warm-up step failed", step=name, error=repr(exc), worker=what)
        else:
            outcomes[name] = "ok"
    gc.collect()  # nothing that is already garbage goes into the permanent generation
    gc.freeze()
    logger.info(
        "worker warmed up",
        worker=what,
        pid=os.getpid(),
        ms=round((time.perf_counter() - started) * 1000, 1),
        frozen_objects=gc.get_freeze_count(),
        **outcomes,
    )
    return outcomes
