"""System checks of the production profile (registered when the etsy package is imported).

They run with every management command that checks (``migrate``, ``runserver``, ``check``),
and ``etsy.wsgi`` runs the ``production`` ones before serving, so a production process
refuses to start while they fail.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.core.checks import Warning as CheckWarning

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


# Backends that never deliver: the message is printed, kept in memory or written to a file.
NON_DELIVERING_EMAIL_BACKENDS = frozenset(
    {
        "django.core.mail.backends.console.EmailBackend",
        "django.core.mail.backends.locmem.EmailBackend",
        "django.core.mail.backends.dummy.EmailBackend",
        "django.core.mail.backends.filebased.EmailBackend",
    }
)


@register(PRODUCTION_TAG)
def check_production_email_backend(app_configs=None, **kwargs) -> list[Error]:
    if not getattr(settings, "IS_PRODUCTION", False):
        return []
    backend = getattr(settings, "EMAIL_DELIVERY_BACKEND", settings.EMAIL_BACKEND)
    if backend in NON_DELIVERING_EMAIL_BACKENDS:
        return [
            Error(
                f"EMAIL_BACKEND is {backend}: in production no email would reach buyers or sellers.",
                hint="Set EMAIL_PROVIDER (django-anymail, e.g. amazon_ses, postmark) or EMAIL_HOST for SMTP.",
                id="etsy.E002",
            )
        ]
    return []


@register(Tags.database)
def check_read_your_writes_outlasts_replica_lag(app_configs=None, **kwargs) -> list[CheckWarning]:
    """A writer must read the primary at least as long as a replica may lag, or it could read its write undone."""
    if not getattr(settings, "DATABASE_REPLICA_URLS", None):
        return []
    if settings.READ_YOUR_WRITES_SECONDS < settings.REPLICA_MAX_LAG_SECONDS:
        return [
            CheckWarning(
                f"READ_YOUR_WRITES_SECONDS ({settings.READ_YOUR_WRITES_SECONDS}) is shorter than "
                f"REPLICA_MAX_LAG_SECONDS ({settings.REPLICA_MAX_LAG_SECONDS}): a seller could see an edit undone.",
                hint="Keep READ_YOUR_WRITES_SECONDS at least REPLICA_MAX_LAG_SECONDS.",
                id="etsy.W002",
            )
        ]
    return []


@register(Tags.caches)
def check_refresh_share(app_configs=None, **kwargs) -> list[Error]:
    """The refresher's share of a web process's time must be a fraction: 0 would leave every due page copy to a
    plain miss, more than 1 lets the refresher take the requests' time."""
    share = settings.CACHE_REFRESH_SHARE
    if not 0 < share <= 1:
        return [
            Error(
                f"CACHE_REFRESH_SHARE ({share}) is not a share of time between 0 (excluded) and 1.",
                hint="The default 0.05 spends a twentieth of each web process's time on due page copies.",
                id="etsy.E003",
            )
        ]
    return []
