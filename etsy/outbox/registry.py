"""Which handler runs each outbox topic.

Apps fill it from their ``AppConfig.ready()`` (``outbox.register("order.placed", notify_seller)``),
so ``etsy`` runs handlers of apps it never imports. One handler per topic: a row is processed
once, by one handler; a second consumer of the same event publishes its own topic.

A handler takes the row's payload and returns ``DONE`` (mark the row processed) or ``DEFER``
(leave it for a later hand-over, e.g. while a payment is pending). It runs inside the
transaction that holds the row's lock, so its writes and the "processed" mark commit together;
raising rolls its writes back and counts as a failed attempt.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DONE, DEFER = "done", "defer"

Handler = Callable[[dict], str]

ManyHandler = Callable[[list[dict]], list[str]]

_handlers: dict[str, Handler] = {}
_many_handlers: dict[str, ManyHandler] = {}
_queues: dict[str, str] = {}


def register(topic: str, handler: Handler, *, queue: str | None = None, many: ManyHandler | None = None) -> Handler:
    """Run ``handler`` for rows published on ``topic``; registering the same pair again is a no-op.

    ``queue`` names the Celery queue whose workers run the topic's rows (etsy/task_queues.py), so a bulk
    reindex never waits behind emails; without it, the outbox task's own route decides.
    ``many``: the same handler for several rows of the topic at once (their payloads in, one outcome per
    payload out, in order), used when one task carries several of them (a checkout's sellers' emails: the
    orders read in one query, the emails sent together); it runs as one attempt for those rows.
    Raises ImproperlyConfigured when another handler already owns the topic.
    """
    current = _handlers.get(topic)
    if current is not None and current is not handler:
        raise ImproperlyConfigured(f"outbox topic {topic!r} is already handled by {current!r}")
    _handlers[topic] = handler
    if queue:
        _queues[topic] = queue
    if many is not None:
        _many_handlers[topic] = many
    return handler


def get_many_handler(topic: str) -> ManyHandler | None:
    return _many_handlers.get(topic)


def get_queue(topic: str) -> str | None:
    return _queues.get(topic)


def unregister(topic: str) -> None:
    """Forget the handler of ``topic`` (tests; an app being unloaded)."""
    _handlers.pop(topic, None)
    _many_handlers.pop(topic, None)
    _queues.pop(topic, None)


def get_handler(topic: str) -> Handler | None:
    return _handlers.get(topic)


def list_topics() -> list[str]:
    return sorted(_handlers)


def queue_name(topic: str) -> str:
    """The broker queue (suffix included) of ``topic``'s rows: its registered queue, else the processing task's."""
    from etsy.outbox.tasks import process_outbox_messages

    suffix = getattr(settings, "TASK_QUEUE_SUFFIX", "")
    queue = get_queue(topic)
    if queue:
        return queue + suffix
    return _routed_queue(process_outbox_messages, suffix)


@functools.cache
def _routed_queue(task, suffix: str) -> str:
    """The queue Celery's routes send ``task`` to (read once per process and queue suffix: 10-20 µs each)."""
    return task.app.amqp.router.route({}, task.name)["queue"].name


def outbox_queues() -> list[str]:
    """Every queue outbox rows go to (the registered topics' and the default)."""
    return sorted({queue_name(topic) for topic in list_topics()} | {queue_name("")})


def by_queue(message_ids: list[int], topics: Mapping[int, str]) -> dict[str, list[int]]:
    """The rows' ids by the queue of their topic (``queue_name``), in their order."""
    queues: dict[str, list[int]] = {}
    for message_id in message_ids:
        queues.setdefault(queue_name(topics.get(message_id, "")), []).append(message_id)
    return queues
