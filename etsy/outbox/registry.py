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

from collections.abc import Callable

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
