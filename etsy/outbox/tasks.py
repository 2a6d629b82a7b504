"""Outbox jobs: dispatch a transaction's rows, run one row or a queue's batch of rows, hand over due rows
(beat, 30 s), prune processed rows (beat, hourly)."""

import logging

from celery import shared_task

from etsy import metrics
from etsy.outbox import drain, registry, selectors, services

logger = logging.getLogger(__name__)


@shared_task(name="etsy.outbox.tasks.process_outbox_message", ignore_result=True, acks_late=True)
def process_outbox_message(message_id: int) -> str:
    """Run one outbox row's handler (e.g. email a seller); at most once per row. Failures retry through the sweep."""
    return services.process(message_id=message_id)


@shared_task(name="etsy.outbox.tasks.process_outbox_messages", ignore_result=True, acks_late=True)
def process_outbox_messages(message_ids: list[int], topics: list[str] | None = None) -> list[str]:
    """Run the handlers of several rows of one queue, each at most once (a row already processed, e.g. by a
    redelivery of this task, is skipped), claimed together (``services.process_many``). Failures retry through
    the sweep. ``topics``: the rows' topics in the same order, when the publisher knew them."""
    return services.process_many(message_ids=list(message_ids), topics=topics)


@shared_task(name="etsy.outbox.tasks.dispatch_outbox_messages", ignore_result=True, acks_late=True)
def dispatch_outbox_messages(message_ids: list[int]) -> int:
    """Queue one task per row of a committed transaction on its topic's queue (the request published only this)."""
    return services.dispatch(list(message_ids))


@shared_task(name="etsy.outbox.tasks.drain_outbox_queue", ignore_result=True)
def drain_outbox_queue(queue: str) -> int:
    """Run the rows hot write paths appended for ``queue``'s drain (``etsy.outbox.drain``); how many were taken."""
    return drain.drain(queue)


@shared_task(name="etsy.outbox.tasks.relay_outbox", ignore_result=True)
def relay_outbox() -> int:
    """Hand due outbox rows to Celery (missed after-commit relays, retries after backoff), start a drain for rows
    left waiting without one; count parked rows."""
    drain.kick(registry.outbox_queues())
    count = services.relay_pending()
    if count:
        logger.info("relayed %d outbox messages", count, extra={"event": "outbox_relayed", "count": count})
    metrics.outbox_parked.set(selectors.count_dead_letters())
    return count


@shared_task(name="etsy.outbox.tasks.prune_outbox", ignore_result=True)
def prune_outbox() -> int:
    """Delete outbox rows processed more than OUTBOX_RETENTION_DAYS ago."""
    count = services.prune_processed()
    if count:
        logger.info("pruned %d outbox messages", count, extra={"event": "outbox_pruned", "count": count})
    return count
