"""Outbox delivery: publish in the caller's transaction, hand over after commit, run each row once.

``publish`` writes a row inside the caller's transaction and (by default) hands it to Celery
after commit; ``relay_pending`` (beat, every 30 s) hands over anything due, so a broker outage
at commit time loses nothing. ``process`` runs a row's handler at most once: the row is locked
and marked processed in the transaction in which the handler acts (an email is sent inside it,
so a failure to send rolls the mark back).

A handler that raises, returns something other than DONE/DEFER, or a topic nobody registered,
is a failed attempt: the handler's writes are rolled back, the row records the error and waits
``retry_delay(failures)`` before the sweep hands it over again. At ``OUTBOX_MAX_ATTEMPTS``
failures the row is parked as a dead letter (``dead_at``; metric, error log event) and stays
until an admin retries it. Processed rows are deleted ``OUTBOX_RETENTION_DAYS`` after processing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from etsy import metrics
from etsy.outbox import drain, registry
from etsy.outbox.models import OutboxMessage
from etsy.outbox.registry import DEFER, DONE
from etsy.prepared import UnnestRows, prepared_cursor

logger = logging.getLogger(__name__)

FAILED, SKIPPED = "failed", "skipped"

# A row handed over but still unprocessed after this long is handed over again (a lost task).
REDISPATCH_AFTER = timedelta(minutes=5)
# Rows younger than this are left to their after-commit relay.
SWEEP_GRACE = timedelta(seconds=10)
# Backoff after the n-th failure: 30 s, 1, 2, 4 ... minutes, at most an hour (8 tries span about an hour).
RETRY_BASE = timedelta(seconds=30)
RETRY_MAX = timedelta(hours=1)
SWEEP_BATCH = 500
PRUNE_BATCH = 1000


class UnknownTopic(Exception):
    """A row's topic has no registered handler (a typo, or the consuming app is not installed)."""


def _handed_over_fields(now: datetime) -> dict:
    """What a row relayed after its transaction's commit is written with: its hand-over counted, and the
    lost-hand-over guard that keeps the sweep away while the task waits in its queue (as ``dispatch`` writes for a
    row it hands over). ``hand_over`` takes both back when the broker refuses the task."""
    return {"dispatched_at": now, "attempts": 1, "next_attempt_at": now + REDISPATCH_AFTER}


def publish(*, topic: str, payload: dict, relay: bool = True, relayed_later: bool = False) -> OutboxMessage:
    """Write an outbox row; call inside the transaction that creates the data it is about.

    With ``relay`` the row is handed to Celery after commit (a rollback publishes nothing);
    without, the caller relays it later (``relay_on_commit``) or leaves it to the sweep. ``relayed_later``: the
    caller relays it itself with ``relay_on_commit`` (in this transaction or a later one), so the row is written
    as handed over and the sweep only steps in after ``REDISPATCH_AFTER``.
    """
    return publish_each(messages=[(topic, payload)], relay=relay, relayed_later=relayed_later)[0]


def publish_many(
    *, topic: str, payloads: Iterable[dict], relay: bool = True, relayed_later: bool = False
) -> list[OutboxMessage]:
    """Write one row per payload in one INSERT (see ``publish``)."""
    return publish_each(messages=[(topic, p) for p in payloads], relay=relay, relayed_later=relayed_later)


# Every column of the rows (etsy.prepared.UnnestRows: a field added to the model is written with its default), in
# the order given; the topic and payload per row, the rest (timestamps, hand-over, defaults) shared by all of a
# call's rows. Constant text, so prepared once per connection.
_ROWS = UnnestRows(OutboxMessage, varying=("topic", "payload"))
_FIELD_NAMES = ["id", *(f.attname for f in _ROWS.fields)]  # the model's concrete fields, in order (from_db)
_INSERT_SQL = f"""
    INSERT INTO {OutboxMessage._meta.db_table} ({_ROWS.names})
    SELECT {_ROWS.select("r")} FROM {_ROWS.source("r")} ORDER BY r.n
    RETURNING id
"""


def publish_each(
    *, messages: Iterable[tuple[str, dict]], relay: bool = True, relayed_later: bool = False
) -> list[OutboxMessage]:
    """Write one row per ``(topic, payload)``, topics mixed, in one INSERT; return them in that order (see
    ``publish``)."""
    now = timezone.now()
    extra = _handed_over_fields(now) if relay or relayed_later else {}
    rows = [{"topic": topic, "payload": payload, **extra} for topic, payload in messages]
    if not rows:
        return []
    encoder = OutboxMessage._meta.get_field("payload").encoder
    columns = _ROWS.arrays([{**row, "payload": json.dumps(row["payload"], cls=encoder)} for row in rows], now=now)
    with prepared_cursor() as cursor:  # a constant statement, planned once per connection (etsy.prepared)
        cursor.execute(_INSERT_SQL, _ROWS.params(columns))
        ids = sorted(pk for (pk,) in cursor.fetchall())  # numbered in the rows' order (ORDER BY r.n)
    # The rows as written (the instances bulk_create returned), built without its per-field preparation.
    values = dict(zip((f.attname for f in _ROWS.fields), columns, strict=True))
    messages_out = []
    for i, pk in enumerate(ids):
        message = OutboxMessage.from_db(
            DEFAULT_DB_ALIAS, _FIELD_NAMES, [pk, *(values[name][i] for name in _FIELD_NAMES[1:])]
        )
        message.payload = rows[i]["payload"]
        messages_out.append(message)
    if relay:
        relay_on_commit(ids, topics={m.pk: m.topic for m in messages_out})
    return messages_out


def relay_on_commit(
    message_ids: Iterable[int], *, topics: Mapping[int, str] | None = None, coalesce: bool = False
) -> None:
    """Hand these rows to Celery after the current transaction commits.

    With every row's ``topics`` (rows written as handed over: ``relay``/``relayed_later``), the rows' processing
    tasks are published straight from here, one per queue, or with ``coalesce`` (a hot write path: checkout)
    appended for their queue's drain (``etsy.outbox.drain``); without, one task that dispatches them from a worker
    (``dispatch``: it reads their topics and records the hand-over). See ``hand_over``.
    """
    ids = sorted(set(message_ids))
    if not ids:
        return
    known = {i: topics[i] for i in ids} if topics is not None and all(i in topics for i in ids) else None
    transaction.on_commit(partial(hand_over, ids, known, coalesce=coalesce))


def hand_over(message_ids: list[int], topics: dict[int, str] | None = None, *, coalesce: bool = False) -> None:
    """Publish the rows' tasks: with their ``topics``, the processing task of each queue's rows (one broker round
    trip per queue, no query: the rows were written as handed over), or with ``coalesce`` their queue's drain
    when none is pending (``etsy.outbox.drain``: no round trip of its own; its own task when Redis fails);
    without topics, one task that dispatches them from a worker. A broker failure is logged and the rows are left
    to the sweep (``relay_pending``): rows written as handed over get their guard taken back, so the sweep relays
    them as soon as they are past its grace."""
    from etsy.outbox.tasks import dispatch_outbox_messages

    if topics is None:
        try:
            dispatch_outbox_messages.delay(list(message_ids))
        except Exception:  # broker down: the sweep relays them; never fail the caller
            logger.warning("outbox hand-over failed", exc_info=True, extra={"outbox_ids": list(message_ids)})
        return
    publish_tasks = partial(_publish_tasks, list(message_ids), topics)
    if not (coalesce and drain.hand_over(message_ids, topics, otherwise=publish_tasks)):
        publish_tasks()


def _publish_tasks(message_ids: list[int], topics: Mapping[int, str]) -> None:
    """Publish the processing tasks of rows written as handed over; take the guard back on those the broker
    refused."""
    sent = set(_send_by_queue(message_ids, topics))
    take_back([i for i in message_ids if i not in sent])


def take_back(failed: list[int]) -> None:
    """Take back the hand-over of rows written as handed over whose task the broker refused: the sweep relays them
    as soon as they are past its grace."""
    if failed:
        try:
            OutboxMessage.objects.filter(pk__in=failed, processed_at__isnull=True, dead_at__isnull=True).update(
                dispatched_at=None, attempts=F("attempts") - 1, next_attempt_at=None
            )
        except Exception:  # the database too: the guard lapses after REDISPATCH_AFTER
            logger.warning("outbox hand-over not taken back", exc_info=True, extra={"outbox_ids": failed})


def _send_by_queue(message_ids: list[int], topics: Mapping[int, str], *, alone: set[int] = frozenset()) -> list[int]:
    """Queue the rows' Celery tasks, one per queue: a lone row as ``process_outbox_message``, several rows of one
    queue as one ``process_outbox_messages``; return the ids sent (a broker failure is logged). The rows ``alone``
    go without their topic, so that each runs by itself (``process_many``), never in a many-handler's group.

    Each is published to its queue by name (the broker's default exchange) rather than through the queue's topic
    exchange: the Redis transport reads an exchange's bindings from Redis on every publish (a client and a round
    trip per task); RabbitMQ delivers to the same queue either way.
    """
    from etsy.outbox.tasks import process_outbox_message, process_outbox_messages

    sent = []
    for name, ids in registry.by_queue(message_ids, topics).items():
        if len(ids) == 1:
            task, args = process_outbox_message, [ids[0]]
        else:  # with their topics, so the worker need not read them to group the rows
            task, args = process_outbox_messages, [ids, ["" if i in alone else topics.get(i, "") for i in ids]]
        try:
            task.apply_async(args=args, queue=name, exchange="", routing_key=name)
        except Exception:  # broker down: the sweep retries; never fail the caller
            logger.warning("outbox relay failed", exc_info=True, extra={"outbox_ids": ids})
            continue
        sent.extend(ids)
    return sent


def dispatch(message_ids: list[int]) -> int:
    """Queue the rows' Celery tasks, one per queue (``_send_by_queue``: a 3-shop checkout's five rows are one task,
    not five) and record the hand-over. A broker failure is logged and the rows are left to the sweep.

    A row that has failed before runs alone: a many-handler's group (a burst's sellers' emails, ``drain``) fails
    together, and retried row by row, one row that cannot succeed holds back none of the others."""
    rows = OutboxMessage.objects.filter(pk__in=message_ids).values_list("pk", "topic", "failures")
    topics = {pk: topic for pk, topic, _ in rows}
    sent = _send_by_queue(message_ids, topics, alone={pk for pk, _, failures in rows if failures})
    if sent:
        now = timezone.now()
        OutboxMessage.objects.filter(pk__in=sent).update(
            dispatched_at=now,
            attempts=F("attempts") + 1,
            # Guard against a lost task, but keep a backoff a fast (or eager) failure has just set.
            next_attempt_at=Case(
                When(next_attempt_at__gt=now, then=F("next_attempt_at")), default=Value(now + REDISPATCH_AFTER)
            ),
        )
    return len(sent)


def relay_pending(*, now: datetime | None = None) -> int:
    """Hand over rows that are due: never handed over, past their backoff, or lost for 5 minutes."""
    now = now or timezone.now()
    due = (
        OutboxMessage.objects.filter(processed_at__isnull=True, dead_at__isnull=True, created_at__lt=now - SWEEP_GRACE)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("id")
        .values_list("id", flat=True)[:SWEEP_BATCH]
    )
    return dispatch(list(due))


def retry_delay(failures: int) -> timedelta:
    """How long a row waits after its ``failures``-th failed attempt."""
    return min(RETRY_BASE * 2 ** max(failures - 1, 0), RETRY_MAX)


def process(*, message_id: int, now: datetime | None = None) -> str:
    """Run the handler of one row at most once; return "done", "defer", "failed" or "skipped".

    Claims the row and marks it processed in one statement (the lock is held until commit, so the handler's
    writes and the mark commit together: three statements of bookkeeping, not six). A failure rolls the
    handler's writes and the mark back and is recorded on the row (backoff, or parked as a dead letter at
    ``OUTBOX_MAX_ATTEMPTS``), never raised: the sweep owns the retries.
    """
    try:
        with transaction.atomic():
            claimed = _claim(message_id, now=now or timezone.now())
            if claimed is None:
                return SKIPPED
            topic, payload = claimed
            try:
                handler = registry.get_handler(topic)
                if handler is None:
                    raise UnknownTopic(f"no handler registered for topic {topic!r}")
                outcome = handler(payload)
                if outcome not in (DONE, DEFER):
                    raise TypeError(f"outbox handler returned {outcome!r}, not DONE or DEFER")
            except Exception as exc:
                raise _HandlerFailed() from exc  # leaves the block: the handler's writes and the mark roll back
            if outcome == DEFER:  # left for a later hand-over: not processed after all
                OutboxMessage.objects.filter(pk=message_id).update(processed_at=None)
            return outcome
    except _HandlerFailed as failed:
        with transaction.atomic():
            message = OutboxMessage.objects.select_for_update().filter(pk=message_id).first()
            if message is not None and message.processed_at is None and message.dead_at is None:
                _record_failure(message, failed.__cause__, now=now or timezone.now())
        return FAILED


def process_many(*, message_ids: list[int], topics: list[str] | None = None, now: datetime | None = None) -> list[str]:
    """Run the handlers of several rows, each at most once; return each row's outcome (see ``process``).

    Each row runs in a transaction of its own (``process``), except that the rows of a topic with a ``many``
    handler (``registry.register``: a checkout's sellers' emails) run together through it in one transaction,
    claimed in one statement: one attempt for them all, committed or failed together (``_process_group``).
    Their ``topics`` come with the task (the publisher knew them), else are read first, in one statement (a
    topic that does not match the row's only leaves it unclaimed: skipped, for the sweep).
    """
    if topics is not None and len(topics) == len(message_ids):
        pending = {message_id: topic for message_id, topic in zip(message_ids, topics, strict=True) if topic}
    else:
        pending = dict(
            OutboxMessage.objects.filter(pk__in=message_ids, processed_at__isnull=True, dead_at__isnull=True)
            .order_by("id")
            .values_list("pk", "topic")
        )
    groups: list[list[int]] = []
    together: dict[str, list[int]] = {}
    for message_id in dict.fromkeys(message_ids):
        topic = pending.get(message_id)
        if topic is None or registry.get_many_handler(topic) is None:
            groups.append([message_id])
        elif topic in together:
            together[topic].append(message_id)
        else:
            together[topic] = [message_id]
            groups.append(together[topic])
    outcomes: dict[int, str] = {}
    for group in groups:
        if len(group) == 1:
            outcomes[group[0]] = process(message_id=group[0], now=now)
        else:
            outcomes |= _process_group(group, topic=pending[group[0]], now=now or timezone.now())
    return [outcomes.get(message_id, SKIPPED) for message_id in message_ids]


_CLAIM_MANY_SQL = f"""
    WITH claimable AS (
        SELECT id FROM {OutboxMessage._meta.db_table}
         WHERE id = ANY(%s::bigint[]) AND topic = %s AND processed_at IS NULL AND dead_at IS NULL
         ORDER BY id FOR UPDATE
    )
    UPDATE {OutboxMessage._meta.db_table} AS m SET processed_at = %s
      FROM claimable WHERE m.id = claimable.id
    RETURNING m.id, m.payload
"""


def _process_group(message_ids: list[int], *, topic: str, now: datetime) -> dict[int, str]:
    """``process`` for several rows of one topic through its ``many`` handler: claimed (locked in id order and
    marked processed) in one statement, run in one transaction; a failure rolls them all back and is recorded
    on each (the sweep retries them)."""
    try:
        with transaction.atomic():
            with prepared_cursor() as cursor:
                cursor.execute(_CLAIM_MANY_SQL, [list(message_ids), topic, now])
                claimed = sorted(cursor.fetchall())
            if not claimed:
                return {}
            payloads = [json.loads(p) if isinstance(p, str | bytes) else p for _, p in claimed]
            try:
                results = _run_handlers(topic, payloads)
            except Exception as exc:
                raise _HandlerFailed() from exc  # leaves the block: the handler's writes and the marks roll back
            outcomes = {message_id: outcome for (message_id, _), outcome in zip(claimed, results, strict=True)}
            deferred = [message_id for message_id, outcome in outcomes.items() if outcome == DEFER]
            if deferred:  # left for a later hand-over: not processed after all
                OutboxMessage.objects.filter(pk__in=deferred).update(processed_at=None)
            return outcomes
    except _HandlerFailed as failed:
        outcomes = {}
        with transaction.atomic():
            rows = OutboxMessage.objects.select_for_update().filter(pk__in=message_ids).order_by("id")
            for message in rows:
                if message.processed_at is None and message.dead_at is None:
                    _record_failure(message, failed.__cause__, now=now)
                    outcomes[message.pk] = FAILED
        return outcomes


def _run_handlers(topic: str, payloads: list[dict]) -> list[str]:
    """The outcome of each payload of ``topic`` (one call of its ``many`` handler, else one call per payload)."""
    many = registry.get_many_handler(topic) if len(payloads) > 1 else None
    if many is not None:
        results = list(many(payloads))
    else:
        handler = registry.get_handler(topic)
        if handler is None:
            raise UnknownTopic(f"no handler registered for topic {topic!r}")
        results = [handler(payload) for payload in payloads]
    if len(results) != len(payloads) or any(outcome not in (DONE, DEFER) for outcome in results):
        raise TypeError(f"outbox handler returned {results!r}, not DONE or DEFER for each row")
    return results


class _HandlerFailed(Exception):
    """A handler raised (or returned nonsense): ``__cause__`` says why."""


_CLAIM_SQL = f"""
    UPDATE {OutboxMessage._meta.db_table} SET processed_at = %s
     WHERE id = %s AND processed_at IS NULL AND dead_at IS NULL
    RETURNING topic, payload
"""


def _claim(message_id: int, *, now: datetime) -> tuple[str, dict] | None:
    """Lock an unprocessed, unparked row and mark it processed (undone with the transaction); its topic and
    payload, or None when it is gone, processed or parked."""
    with prepared_cursor() as cursor:  # constant statements, planned once per connection (etsy.prepared)
        cursor.execute(_CLAIM_SQL, [now, message_id])
        row = cursor.fetchone()
    if row is None:
        return None
    topic, payload = row
    return topic, json.loads(payload) if isinstance(payload, str | bytes) else payload


def _record_failure(message: OutboxMessage, exc: Exception, *, now: datetime) -> None:
    message.failures += 1
    message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    context = {"outbox_id": message.pk, "topic": message.topic, "failures": message.failures}
    metrics.outbox_failures.labels(topic=message.topic).inc()
    if isinstance(exc, UnknownTopic):
        logger.error("outbox topic without handler", extra={"event": "outbox_unknown_topic", **context})
    else:
        logger.warning("outbox handler failed", exc_info=exc, extra={"event": "outbox_handler_failed", **context})
    if message.failures >= settings.OUTBOX_MAX_ATTEMPTS:
        message.dead_at, message.next_attempt_at = now, None
        metrics.outbox_dead_letters.labels(topic=message.topic).inc()
        logger.error(
            "outbox message parked as a dead letter",
            extra={"event": "outbox_dead_lettered", "error": message.last_error, **context},
        )
    else:
        message.next_attempt_at = now + retry_delay(message.failures)
    message.save(update_fields=["failures", "last_error", "dead_at", "next_attempt_at"])


@transaction.atomic
def retry_dead_letters(*, message_ids: Iterable[int]) -> int:
    """Give parked rows a fresh set of attempts and hand them over after commit; return how many."""
    ids = list(
        OutboxMessage.objects.filter(pk__in=list(message_ids), dead_at__isnull=False, processed_at__isnull=True)
        .order_by("id")
        .values_list("id", flat=True)
    )
    OutboxMessage.objects.filter(pk__in=ids).update(dead_at=None, failures=0, next_attempt_at=None)
    relay_on_commit(ids)
    if ids:
        logger.info("outbox dead letters retried", extra={"event": "outbox_retried", "outbox_ids": ids})
    return len(ids)


def prune_processed(*, now: datetime | None = None) -> int:
    """Delete rows processed more than ``OUTBOX_RETENTION_DAYS`` ago, in batches; return how many.

    Pending and parked rows are never pruned.
    """
    cutoff = (now or timezone.now()) - timedelta(days=settings.OUTBOX_RETENTION_DAYS)
    deleted = 0
    while True:
        ids = list(
            OutboxMessage.objects.filter(processed_at__lt=cutoff)
            .order_by("id")
            .values_list("id", flat=True)[:PRUNE_BATCH]
        )
        if not ids:
            return deleted
        deleted += OutboxMessage.objects.filter(pk__in=ids).delete()[0]
