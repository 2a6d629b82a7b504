"""Coalesced hand-over for hot write paths: a burst's rows run by one drain task per queue, not one task each.

A checkout handed its rows over by publishing a Celery task after its commit: 0.9 ms of the request's CPU (1,000
publishes timed, where a Redis ``SET NX`` costs 0.09 ms), and the worker's per-task cost (receive, ack, signals,
a transaction per task) once per checkout. Here the publisher appends the rows (``id:topic``) to a Redis list of
their queue and publishes a drain task only when none is pending (a flag set with ``NX``), with the commit's other
Redis writes (``etsy.cache.batch``: no round trip of its own); at saturation one drain runs the rows of every
checkout that came in meanwhile through ``process_many`` (a many-handler's rows, e.g. every seller's order email,
in one claim and one transaction).

Nothing is lost between the two sides: a publisher appends, then sets the flag; a drain clears the flag, then
takes the list, in one ``MULTI``. Rows appended before the clear are taken by that drain; a publisher that comes
after it finds no flag and publishes the next drain. The flag lapses after ``FLAG_SECONDS`` (a drain task the
broker lost), and the relay's beat (``kick``) starts a drain for any list left without one.

When Redis fails, the rows go as their own task, as before (``services.hand_over``). The rows are
written as handed over (``relayed_later``), so a drain that dies with rows taken leaves them to the sweep after
``services.REDISPATCH_AFTER`` (5 minutes), as a web process that dies between its commit and its publish does.
Processing stays at most once per row (``services.process_many`` claims each row).

Hand-written rather than a Celery feature: Celery has no "publish unless one is pending" (``celery-once`` and
``celery_singleton`` lock by task arguments and release when the task ends, which would lose rows appended while
it runs).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping

from etsy.cache import batch, store
from etsy.outbox import registry

logger = logging.getLogger(__name__)

# A pending drain's flag lapses after this long, so a lost drain task holds its queue's rows back at most this long.
FLAG_SECONDS = 30
# Rows a drain takes at a time; it takes again until the list is empty (at most MAX_TAKES times, then the next
# drain goes on: a long burst does not hold one task for ever).
TAKE = 500
MAX_TAKES = 20


def _keys(queue: str) -> tuple[str, str]:
    """The list of ``queue``'s rows and its pending-drain flag, as stored (one hash tag: one cluster slot)."""
    return store.raw_key(f"outbox:{{drain:{queue}}}:rows"), store.raw_key(f"outbox:{{drain:{queue}}}:pending")


def hand_over(message_ids: list[int], topics: Mapping[int, str], *, otherwise: Callable[[], None]) -> bool:
    """Append the rows to their queues' lists and flag a drain as pending, with the commit's other Redis writes
    (``etsy.cache.batch``: no round trip of its own), then publish the drains none was pending for. ``otherwise``
    (publish the rows' own tasks) runs instead when Redis fails. False when the cache is off (nothing done)."""
    from etsy.outbox import services

    if not store.is_enabled():
        return False
    queues = {name: [(i, topics[i]) for i in ids] for name, ids in registry.by_queue(message_ids, topics).items()}

    def fill(pipe) -> None:
        for queue, rows in queues.items():
            items, flag = _keys(queue)
            pipe.rpush(items, *(f"{pk}:{topic}" for pk, topic in rows))
            pipe.set(flag, 1, nx=True, ex=FLAG_SECONDS)

    def flagged(replies: list) -> None:
        if any(isinstance(reply, Exception) for reply in replies[::2]):  # a list Redis refused: not appended
            otherwise()
            return
        for i, (queue, rows) in enumerate(queues.items()):
            if replies[2 * i + 1] is True and not publish(queue):  # no drain was pending, and the broker refused it
                services.take_back([pk for pk, _ in rows])  # for the sweep, as a refused task's rows

    batch.send(fill, what=f"append outbox rows {message_ids}", on_replies=flagged, on_error=otherwise)
    return True


def publish(queue: str) -> bool:
    """Publish the drain task of ``queue``; a broker failure clears its flag (the next hand-over or the relay's
    ``kick`` publishes it) and is logged."""
    from etsy.outbox.tasks import drain_outbox_queue

    try:
        drain_outbox_queue.apply_async(args=[queue], queue=queue, exchange="", routing_key=queue)
        return True
    except Exception:  # broker down: never fail the caller
        logger.warning("outbox drain not published", exc_info=True, extra={"queue": queue})
        release(queue)
        return False


def release(queue: str) -> None:
    """Clear ``queue``'s pending flag (its drain could not be published: the next publisher or ``kick`` starts one)."""
    try:
        store.redis_cache().client.get_client(write=True).delete(_keys(queue)[1])
    except Exception:
        logger.warning("could not clear the drain flag of %s", queue, exc_info=True)


def take(queue: str, *, clear_flag: bool = True, limit: int = TAKE) -> tuple[list[int], list[str]]:
    """Take up to ``limit`` rows of ``queue``'s list (and clear its flag first, in the same ``MULTI``): their ids
    and topics, oldest first."""
    items, flag = _keys(queue)
    pipe = store.redis_cache().client.get_client(write=True).pipeline(transaction=True)
    if clear_flag:
        pipe.delete(flag)
    pipe.lrange(items, 0, limit - 1)
    pipe.ltrim(items, limit, -1)
    taken = pipe.execute()[-2]
    ids, topics = [], []
    for item in taken:
        pk, _, topic = (item.decode() if isinstance(item, bytes) else item).partition(":")
        ids.append(int(pk))
        topics.append(topic)
    return ids, topics


def drain(queue: str) -> int:
    """Run the rows appended for ``queue`` (``services.process_many``, a batch at a time); how many were taken."""
    from etsy.outbox import services

    taken = 0
    for n in range(MAX_TAKES):
        ids, topics = take(queue, clear_flag=n == 0)
        if not ids:
            return taken
        taken += len(ids)
        services.process_many(message_ids=ids, topics=topics)
        if len(ids) < TAKE:  # the list was emptied: rows appended since have flagged a drain of their own
            return taken
    kick([queue])  # rows left after MAX_TAKES and no drain pending for them: the next one
    return taken


def kick(queues: Iterable[str]) -> list[str]:
    """Start a drain (flag and publish it) for each of ``queues`` whose list holds rows and has none pending; the
    queues flagged. The relay's beat runs it: rows whose drain was lost wait at most a beat."""
    queues = list(queues)
    if not queues or not store.is_enabled():
        return []
    try:
        client = store.redis_cache().client.get_client(write=True)
        pipe = client.pipeline(transaction=False)
        for queue in queues:
            pipe.llen(_keys(queue)[0])
        waiting = [queue for queue, length in zip(queues, pipe.execute(), strict=True) if length]
        for queue in waiting:
            pipe.set(_keys(queue)[1], 1, nx=True, ex=FLAG_SECONDS)
        flagged = [queue for queue, created in zip(waiting, pipe.execute(), strict=True) if created]
    except Exception:
        logger.warning("could not look for outbox rows waiting for a drain", exc_info=True)
        return []
    for queue in flagged:
        publish(queue)
    return flagged
