"""The settings every benchmark and profile script runs the app with: production's, served on loopback.

``ETSY_ENV=production`` with DEBUG off, over plain HTTP on 127.0.0.1 (no TLS redirect, secure cookies or HSTS),
a fresh secret key and metrics token per run, the test payment provider, and warnings only in the logs. Each
script adds what it measures with (``overrides``): its database, queues, worker counts, throttles.
"""

from __future__ import annotations

import os
import secrets


def loopback_production_env(**overrides: str) -> dict[str, str]:
    """Environment variables for the app in the production profile on loopback, ``overrides`` applied last."""
    return {
        "ETSY_ENV": "production",
        "DEBUG": "false",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
        "METRICS_BEARER_TOKEN": secrets.token_urlsafe(32),
        "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_COOKIES": "false",
        "SECURE_HSTS_SECONDS": "0",
        "PAYMENT_PROVIDER": "orders.payments.TestPaymentProvider",
        "LOG_LEVEL": "WARNING",
        **overrides,
    }
