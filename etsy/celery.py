"""Celery application: configured from Django settings (CELERY_* names)."""

import os

from celery import Celery, signals

from etsy.task_queues import is_amqp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "etsy.settings")

app = Celery("etsy")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _close_old_connections(sender=None, **kwargs) -> None:
    """Around each task, what Django does around each request: drop connections past CONN_MAX_AGE, unusable
    ones, and those a task left inside a transaction (eager tasks run in their caller's connection: left alone)."""
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


signals.task_prerun.connect(_close_old_connections, weak=False)
signals.task_postrun.connect(_close_old_connections, weak=False)


@signals.celeryd_init.connect
def declare_every_queue(sender=None, **kwargs) -> None:
    """On RabbitMQ, declare all four queues (and their exchanges) before the worker starts consuming.

    A worker consumes one queue, but its native delayed delivery (retry countdowns on quorum
    queues) binds every declared queue, so the others must exist even when their workers are not up yet.
    """
    if not is_amqp(app.conf.broker_url or ""):
        return
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        for queue in app.conf.task_queues:
            queue(channel).declare()


@signals.worker_process_init.connect
def warm_up_task_worker(sender=None, **kwargs) -> None:
    """Warm each new worker process before it takes a task: the email templates compiled, PostgreSQL and the
    cache's Redis open (etsy.warmup). ``WORKER_WARM_UP=false`` leaves that to its first task."""
    if os.environ.get("WORKER_WARM_UP", "true").strip().lower() in {"0", "false", "no", "off"}:
        return
    from etsy.warmup import warm_up_task_worker

    warm_up_task_worker()
