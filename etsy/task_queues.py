"""Celery queues and routes: which queue each task waits in, and how the broker keeps them.

Four queues, one worker pool each in production (Procfile, docker-compose.yml), so a bulk
reindex never waits in line with seller emails or payment resolution:

- ``emails``: seller notifications (outbox messages) and daily digests;
- ``search``: Elasticsearch indexing (search's outbox topics) and the search vocabulary;
- ``payments``: asking the provider about unsettled charges;
- ``default``: everything else (reservation cleanup, outbox relay, views, trending).

On RabbitMQ (the production broker) the queues are durable quorum queues (replicated,
no message lost when one node fails) and every publish waits for the broker's confirm.
"""

from __future__ import annotations

from kombu import Exchange, Queue

QUEUE_NAMES = ("default", "emails", "search", "payments")
DEFAULT_QUEUE = "default"

# Outbox rows go to "emails" unless their topic names a queue when it registers (search's rows: "search").
TASK_ROUTES = {
    "etsy.outbox.tasks.process_outbox_message": {"queue": "emails"},
    "etsy.outbox.tasks.process_outbox_messages": {"queue": "emails"},
    "etsy.outbox.tasks.drain_outbox_queue": {"queue": "emails"},  # published to the queue it drains, by name
    "orders.tasks.send_daily_digests": {"queue": "emails"},
    "orders.tasks.send_shop_digest": {"queue": "emails"},
    "search.tasks.*": {"queue": "search"},
    "orders.tasks.resolve_pending_payments": {"queue": "payments"},
}


def is_amqp(broker_url: str) -> bool:
    return broker_url.split("://", 1)[0] in {"amqp", "amqps", "pyamqp"}


def task_routes(*, suffix: str = "") -> dict[str, dict[str, str]]:
    """The routes, with ``suffix`` on every queue name (each parallel test worker has its own queues)."""
    return {task: {"queue": route["queue"] + suffix} for task, route in TASK_ROUTES.items()}


def task_queues(broker_url: str, *, suffix: str = "") -> list[Queue]:
    """The four queues; quorum queues on RabbitMQ (the Redis transport has no queue types).

    Topic exchanges: Celery's native delayed delivery (retry countdowns on quorum queues) needs them.
    """
    arguments = {"x-queue-type": "quorum"} if is_amqp(broker_url) else None
    return [
        Queue(
            name + suffix,
            Exchange(name + suffix, type="topic"),
            routing_key=name + suffix,
            durable=True,
            queue_arguments=arguments,
        )
        for name in QUEUE_NAMES
    ]


def broker_transport(broker_url: str) -> str | None:
    """The transport class of a Redis broker (``etsy.redis_broker``: a client per channel, not per command); None
    (the URL's own) for the others."""
    if broker_url.split("://", 1)[0] in {"redis", "rediss"}:
        return "etsy.redis_broker:Transport"
    return None


def broker_transport_options(broker_url: str, *, visibility_timeout: int) -> dict:
    """Publisher confirms on RabbitMQ; the redelivery timeout on Redis."""
    if is_amqp(broker_url):
        return {"confirm_publish": True}
    return {"visibility_timeout": visibility_timeout}
