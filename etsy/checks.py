"""System checks of the production profile (registered when the etsy package is imported).

They run with every management command that checks (``migrate``, ``runserver``, ``check``),
and ``etsy.wsgi`` runs the ``production`` ones before serving, so a production process
refuses to start while they fail.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register

PRODUCTION_TAG = "production"


@register(PRODUCTION_TAG)
def check_metrics_token(app_configs=None, **kwargs) -> list[Error]:
    """Refuse a production profile whose /metrics is public (it shows per-shop order counts)."""
    if not getattr(settings, "IS_PRODUCTION", False) or getattr(settings, "METRICS_BEARER_TOKEN", ""):
        return []
    return [
        Error(
            "METRICS_BEARER_TOKEN is not set: /metrics would be public in production.",
            hint="Set METRICS_BEARER_TOKEN to a long random value and give it to Prometheus "
            "(deploy/prometheus.yml reads it from a file).",
            id="etsy.E001",
        )
    ]
