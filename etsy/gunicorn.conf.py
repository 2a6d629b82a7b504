"""Production server settings for gunicorn (``gunicorn etsy.wsgi --config etsy/gunicorn.conf.py``).

Every value can be overridden from the environment:

- ``WEB_CONCURRENCY`` worker processes (unset or 0: 2 x usable cores + 1),
  ``WEB_THREADS`` threads per worker (default 1: sync workers; more gives gthread workers, measured
  against sync ones by ``make bench-writes``: README "Web server workers"),
- ``WEB_TIMEOUT`` seconds before a silent worker is killed and replaced (30),
  ``WEB_GRACEFUL_TIMEOUT`` seconds a worker gets to finish in-flight requests on
  restart or shutdown (30),
- ``WEB_MAX_REQUESTS`` requests after which a worker is recycled (jittered so
  workers do not restart together), ``HOST``/``PORT`` to bind,
- ``WEB_WARM_UP`` (default true): each new worker imports the URLconf, compiles the page templates and opens its
  connections before it takes a request, then freezes what it loaded out of the collector's way
  (``etsy.warmup``); false leaves that to its first requests.

Graceful restart: ``kill -HUP <master pid>`` re-reads this file and replaces the
workers one generation at a time; ``kill -TERM`` drains and stops.

Prometheus multiprocess mode: each worker writes its samples into
``PROMETHEUS_MULTIPROC_DIR`` and /metrics adds them up. This file sets that
directory before any worker imports prometheus_client, wipes it when the server
starts (stale files from a previous run would be added in), and tells
prometheus_client when a worker exits so its live gauges are dropped.
"""

import os
import shutil
import tempfile

from gunicorn.glogging import Logger

from etsy.logging import log_format


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


host = os.environ.get("HOST", "127.0.0.1")
port = os.environ.get("PORT", "8000")
bind = f"{host}:{port}"
# Unset, empty or 0 means "from the cores" (docker-compose passes 0 when not configured).
workers = int(os.environ.get("WEB_CONCURRENCY") or 0) or _usable_cores() * 2 + 1
threads = int(os.environ.get("WEB_THREADS") or 1)
worker_class = "gthread" if threads > 1 else "sync"
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("WEB_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("WEB_KEEPALIVE", "5"))
# gunicorn's largest request line (its default is 4094): the longest query the API documents fits in it
# percent-encoded (etsy.api.fields.MAX_QUERY_TEXT_LENGTH; tests/api/test_request_line.py), so no
# documented request meets a 414.
limit_request_line = 8190
max_requests = int(os.environ.get("WEB_MAX_REQUESTS", "5000"))
max_requests_jitter = max(1, max_requests // 10) if max_requests else 0
# Heartbeat files in memory, not on a possibly slow container filesystem.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# Our Django middleware writes one JSON line per request (etsy.request); no second access log.
accesslog = None


class _NoAccessLogger(Logger):
    """Gunicorn's logger without its access log, which would still format each request's fields
    (about 4 % of a worker's time on a cached page) before the silenced logger dropped them."""

    access_log_enabled = False


logger_class = _NoAccessLogger
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# Trust X-Forwarded-* only from the proxy in front (comma-separated addresses).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
proc_name = "etsy-web"


def _json_logconfig() -> dict:
    """gunicorn's own messages (boot, worker timeouts) as JSON lines, like the application's."""
    import structlog

    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": structlog.stdlib.ProcessorFormatter,
                "foreign_pre_chain": [
                    structlog.stdlib.add_log_level,
                    structlog.stdlib.add_logger_name,
                    structlog.processors.TimeStamper(fmt="iso", utc=True),
                ],
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    structlog.processors.JSONRenderer(),
                ],
            }
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}},
        "loggers": {
            "gunicorn.error": {"handlers": ["console"], "level": loglevel.upper(), "propagate": False},
            "gunicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }


if log_format(os.environ) == "json":
    logconfig_dict = _json_logconfig()

# Before any worker imports prometheus_client: the value class is chosen at import time.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", os.path.join(tempfile.gettempdir(), f"etsy-prometheus-{port}"))


def on_starting(server):
    """Start from an empty metrics directory (counters restart at zero with the server)."""
    path = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    if os.path.isdir(path):
        for name in os.listdir(path):
            target = os.path.join(path, name)
            if os.path.isdir(target) and not os.path.islink(target):
                shutil.rmtree(target)
            else:
                os.unlink(target)
    os.makedirs(path, exist_ok=True)
    server.log.info("prometheus multiprocess dir ready: %s (%s workers)", path, server.cfg.workers)


def post_worker_init(worker):
    """Warm the new worker before it takes its first connection (etsy.warmup)."""
    if os.environ.get("WEB_WARM_UP", "true").strip().lower() in {"0", "false", "no", "off"}:
        return
    from etsy.warmup import warm_up

    warm_up()


def child_exit(server, worker):
    """Drop the exited worker's live gauges; its counters stay so totals never go backwards."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def worker_exit(server, worker):
    """Finish what the worker still holds (the apps register it: e.g. batched anonymous product views)."""
    from etsy import worker_exit as hooks

    hooks.run_all()
