"""System checks of the production profile (``manage.py check --deploy``, and every command that runs checks)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register

# Backends that never deliver: the message is printed, kept in memory or written to a file.
NON_DELIVERING_EMAIL_BACKENDS = frozenset(
    {
        "django.core.mail.backends.console.EmailBackend",
        "django.core.mail.backends.locmem.EmailBackend",
        "django.core.mail.backends.dummy.EmailBackend",
        "django.core.mail.backends.filebased.EmailBackend",
    }
)


@register(Tags.compatibility)
def check_production_email_backend(app_configs=None, **kwargs) -> list[Error]:
    if not getattr(settings, "IS_PRODUCTION", False):
        return []
    backend = getattr(settings, "EMAIL_DELIVERY_BACKEND", settings.EMAIL_BACKEND)
    if backend in NON_DELIVERING_EMAIL_BACKENDS:
        return [
            Error(
                f"EMAIL_BACKEND is {backend}: in production no email would reach buyers or sellers.",
                hint="Set EMAIL_PROVIDER (django-anymail, e.g. amazon_ses, postmark) or EMAIL_HOST for SMTP.",
                id="etsy.E001",
            )
        ]
    return []
