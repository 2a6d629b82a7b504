"""Celery queues and routes: which queue each task waits in, and how the broker keeps them.

Four queues, one worker pool each in production (Procfile, docker-compose.yml), so a bulk
reindex never waits in line with seller emails or payment resolution:

- ``emails``: seller notifications (outbox messages) and daily digests;
- ``search``: Elasticsearch indexing and the search vocabulary;
- ``payments``: asking the provider about unsettled charges;
- ``default``: everything else (reservation cleanup, outbox relay, views, trending).

On RabbitMQ (the production broker) the queues are durable quorum queues (replicated,
no message lost when one node fails) and every publish waits for the broker's confirm.
"""

from __future__ import annotations

from kombu import Exchange, Queue

QUEUE_NAMES = ("default", "emails", "search", "payments")
DEFAULT_QUEUE = "default"

TASK_ROUTES = {
    "orders.tasks.process_outbox_message": {"queue": "emails"},
    "shops.tasks.send_daily_digests": {"queue": "emails"},
    "shops.tasks.send_shop_digest": {"queue": "emails"},
    "search.tasks.*": {"queue": "search"},
    "orders.tasks.resolve_pending_payments": {"queue": "payments"},
}


def is_amqp(broker_url: str) -> bool:
    return broker_url.split("://", 1)[0] in {"amqp", "amqps", "pyamqp"}


def task_queues(broker_url: str) -> list[Queue]:
    """The four queues; quorum queues on RabbitMQ (the Redis transport has no queue types)."""
    arguments = {"x-queue-type": "quorum"} if is_amqp(broker_url) else None
    return [
        Queue(name, Exchange(name, type="topic"), routing_key=name, durable=True, queue_arguments=arguments)
        for name in QUEUE_NAMES
    ]


def broker_transport_options(broker_url: str, *, visibility_timeout: int) -> dict:
    """Publisher confirms on RabbitMQ; the redelivery timeout on Redis."""
    if is_amqp(broker_url):
        return {"confirm_publish": True}
    return {"visibility_timeout": visibility_timeout}
