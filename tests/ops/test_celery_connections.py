"""The worker keeps its database connections between tasks (issue 23): Celery's Django fixup closed them before
and after every task unless CELERY_DB_REUSE_MAX is set; each task now treats them as Django treats a request."""

from types import SimpleNamespace
from unittest import mock

from django.conf import settings

from etsy import celery as etsy_celery
from etsy.celery import app


def test_the_fixup_no_longer_closes_every_connection_around_each_task():
    assert settings.CELERY_DB_REUSE_MAX >= 100
    assert app.conf.get("CELERY_DB_REUSE_MAX") == settings.CELERY_DB_REUSE_MAX


def test_a_worker_task_drops_only_old_or_broken_connections_and_an_eager_one_touches_none():
    worker_task = SimpleNamespace(request=SimpleNamespace(is_eager=False))
    eager_task = SimpleNamespace(request=SimpleNamespace(is_eager=True))
    with mock.patch("django.db.close_old_connections") as close_old:
        etsy_celery._close_old_connections(sender=worker_task)
        assert close_old.call_count == 1
        etsy_celery._close_old_connections(sender=eager_task)  # runs in its caller's connection and transaction
        assert close_old.call_count == 1
