"""Transactional outbox: side effects promised in the same transaction as the data they are about.

Any app publishes (``outbox.publish(topic=..., payload=...)`` inside its transaction) and
registers the handler of its topics from ``AppConfig.ready()`` (``outbox.register(topic, handler)``);
``etsy`` imports no app. The row is handed to Celery after commit and by a sweep (beat, 30 s);
a handler that keeps failing is parked as a dead letter (admin, metric, log event) after
``OUTBOX_MAX_ATTEMPTS`` tries; processed rows are deleted after ``OUTBOX_RETENTION_DAYS``.
See ``services`` for the delivery rules.
"""

from importlib import import_module

from etsy.outbox.registry import DEFER, DONE, get_handler, list_topics, register, unregister  # noqa: F401

# Imported on first use: this package is loaded with the app registry, before models can be.
_SERVICES = {"publish", "publish_each", "publish_many", "relay_on_commit"}


def __getattr__(name: str):
    if name in _SERVICES:
        return getattr(import_module("etsy.outbox.services"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
