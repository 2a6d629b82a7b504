"""Metrics and log context for Celery worker processes (connected to Celery's signals).

Metrics: a prefork worker runs tasks in several child processes, each with its
own counters. With ``PROMETHEUS_MULTIPROC_DIR`` set (one directory per worker
container, emptied at start by deploy/entrypoint.sh) each child writes its samples
there, and with ``CELERY_METRICS_PORT`` set the worker's main process serves them
added up at ``http://<host>:<port>/metrics`` (deploy/prometheus.yml scrapes it).
A child that exits is marked dead so its live gauges are dropped.

Logs: every line written while a task runs carries ``task_id`` and ``task_name``,
and the ``request_id`` of the web request that queued it (sent as a message header).

Imported by etsy/metrics.py, so every process that can count anything has these
hooks connected; the handlers only act inside a worker.
"""

from __future__ import annotations

import logging
import os

import structlog
from celery import signals

logger = logging.getLogger("etsy.worker")

REQUEST_ID_HEADER = "request_id"


def _multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


@signals.worker_init.connect(weak=False)
def start_metrics_server(sender=None, **kwargs) -> None:
    """Serve the worker's metrics from its main process when CELERY_METRICS_PORT is set."""
    port = os.environ.get("CELERY_METRICS_PORT")
    if not port:
        return
    import prometheus_client
    from prometheus_client import multiprocess

    if _multiprocess_dir():
        registry = prometheus_client.CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        logger.warning("CELERY_METRICS_PORT without PROMETHEUS_MULTIPROC_DIR: pool processes' samples are not shared")
        registry = prometheus_client.REGISTRY
    address = os.environ.get("CELERY_METRICS_ADDRESS", "0.0.0.0")
    prometheus_client.start_http_server(int(port), addr=address, registry=registry)
    logger.info("worker metrics served", extra={"port": int(port), "multiprocess": bool(_multiprocess_dir())})


@signals.worker_process_shutdown.connect(weak=False)
def mark_pool_process_dead(pid=None, exitcode=None, **kwargs) -> None:
    if _multiprocess_dir() and pid:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


@signals.before_task_publish.connect(weak=False)
def propagate_request_id(headers=None, **kwargs) -> None:
    """Send the current request id along with the task so its logs can be joined to the request."""
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    if request_id and headers is not None:
        headers.setdefault(REQUEST_ID_HEADER, request_id)


@signals.task_prerun.connect(weak=False)
def bind_task_context(task_id=None, task=None, **kwargs) -> None:
    if task is not None and task.request.is_eager:
        # Eager (tests, CELERY_TASK_ALWAYS_EAGER): runs inside the caller, keep its context.
        structlog.contextvars.bind_contextvars(task_id=task_id, task_name=task.name)
        return
    structlog.contextvars.clear_contextvars()
    context = {"task_id": task_id, "task_name": getattr(task, "name", None)}
    request_id = getattr(getattr(task, "request", None), REQUEST_ID_HEADER, None)
    if request_id:
        context["request_id"] = request_id
    structlog.contextvars.bind_contextvars(**context)


@signals.task_postrun.connect(weak=False)
def clear_task_context(task=None, **kwargs) -> None:
    if task is not None and task.request.is_eager:
        structlog.contextvars.unbind_contextvars("task_id", "task_name")
        return
    structlog.contextvars.clear_contextvars()
