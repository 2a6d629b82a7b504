"""GET /metrics: Prometheus exposition, added up across every worker process.

With ``PROMETHEUS_MULTIPROC_DIR`` set (gunicorn, see etsy/gunicorn.conf.py) each
worker writes its samples to files in that directory and this view merges all of
them (``MultiProcessCollector``), so counters add up whichever worker served the
request. Without it (runserver, tests) the process's own registry is exported.

When ``settings.METRICS_BEARER_TOKEN`` is set the scraper must send
``Authorization: Bearer <token>``; otherwise the endpoint is open (keep it off
the public internet at the proxy).
"""

from __future__ import annotations

import hmac
import os

import prometheus_client
from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import multiprocess


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir") or None


def build_registry() -> prometheus_client.CollectorRegistry:
    """Return the registry to export: every process's files in multiprocess mode, else this process."""
    if multiprocess_dir():
        registry = prometheus_client.CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return prometheus_client.REGISTRY


def _authorized(request) -> bool:
    token = getattr(settings, "METRICS_BEARER_TOKEN", "")
    if not token:
        return True
    header = request.headers.get("Authorization", "")
    scheme, _, supplied = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(supplied.strip().encode(), token.encode())


@never_cache
@require_GET
def metrics_view(request):
    if not _authorized(request):
        response = HttpResponse("authentication required\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    payload = prometheus_client.generate_latest(build_registry())
    return HttpResponse(payload, content_type=prometheus_client.CONTENT_TYPE_LATEST)
