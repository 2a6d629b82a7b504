"""The coalesced hand-over (etsy.outbox.drain): rows of many transactions run by one drain task per queue, nothing
lost when Redis or the broker fails or a drain task is lost, a failed group retried row by row.

Real Redis (the lists and flags), real PostgreSQL; the drain task is held back by patching its publish where a test
needs several transactions' rows to wait for one drain."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.db import transaction
from django.utils import timezone
from redis.exceptions import ConnectionError as RedisConnectionError

from etsy import outbox
from etsy.cache import store
from etsy.outbox import drain, registry, services
from etsy.outbox.models import OutboxMessage
from etsy.outbox.tasks import drain_outbox_queue, process_outbox_messages, relay_outbox
from tests.outbox.doubles import MANY_TOPIC, TOPIC

pytestmark = pytest.mark.django_db


def _commit_rows(topics: list[str]) -> list[OutboxMessage]:
    """One transaction that writes rows as handed over and relays them coalesced, as a checkout's payment does."""
    with transaction.atomic():
        rows = outbox.publish_each(
            messages=[(topic, {"thing_id": n}) for n, topic in enumerate(topics)], relay=False, relayed_later=True
        )
        outbox.relay_on_commit([r.pk for r in rows], topics={r.pk: r.topic for r in rows}, coalesce=True)
    return rows


def _processed(rows: list[OutboxMessage]) -> int:
    return OutboxMessage.objects.filter(pk__in=[r.pk for r in rows], processed_at__isnull=False).count()


def test_rows_of_several_transactions_wait_for_one_drain_that_runs_them_together(
    handler, many_handler, django_capture_on_commit_callbacks
):
    with mock.patch.object(drain_outbox_queue, "apply_async") as drains:
        with django_capture_on_commit_callbacks(execute=True):
            first = _commit_rows([MANY_TOPIC, MANY_TOPIC, TOPIC])
        with django_capture_on_commit_callbacks(execute=True):
            second = _commit_rows([MANY_TOPIC, TOPIC])
    # One drain task for both transactions (the second found one pending), published to the rows' queue by name.
    assert drains.call_count == 1
    queue = registry.queue_name(TOPIC)
    assert drains.call_args.kwargs == {"args": [queue], "queue": queue, "exchange": "", "routing_key": queue}
    assert _processed(first + second) == 0
    assert drain_outbox_queue.apply(args=[queue]).get() == 5
    # The many-handler's rows of both transactions in one call; the others one by one; each row once.
    assert many_handler.calls == [[{"thing_id": 0}, {"thing_id": 1}, {"thing_id": 0}]]
    assert handler.payloads == [{"thing_id": 2}, {"thing_id": 1}]
    assert _processed(first + second) == 5
    assert drain_outbox_queue.apply(args=[queue]).get() == 0  # the list is empty: nothing runs twice


def test_a_drain_clears_its_flag_before_it_takes_so_later_rows_get_the_next_drain(
    handler, django_capture_on_commit_callbacks
):
    queue = registry.queue_name(TOPIC)
    with mock.patch.object(drain_outbox_queue, "apply_async") as drains:
        with django_capture_on_commit_callbacks(execute=True):
            first = _commit_rows([TOPIC])
        ids, _ = drain.take(queue)  # the drain starts: flag cleared and list taken in one MULTI
        with django_capture_on_commit_callbacks(execute=True):
            second = _commit_rows([TOPIC])  # committed while the first drain runs
    assert ids == [first[0].pk]
    assert drains.call_count == 2  # the second transaction found no drain pending and published one
    assert drain_outbox_queue.apply(args=[queue]).get() == 1
    assert _processed(second) == 1


def test_with_redis_down_the_rows_go_as_their_own_task(handler, django_capture_on_commit_callbacks):
    with (
        mock.patch("etsy.cache.batch._execute", side_effect=RedisConnectionError("redis down")),
        mock.patch.object(process_outbox_messages, "apply_async", wraps=process_outbox_messages.apply_async) as tasks,
        mock.patch.object(drain_outbox_queue, "apply_async") as drains,
        django_capture_on_commit_callbacks(execute=True),
    ):
        rows = _commit_rows([TOPIC, TOPIC])
    drains.assert_not_called()
    assert tasks.call_count == 1 and _processed(rows) == 2  # the eager task ran them
    assert drain.take(registry.queue_name(TOPIC)) == ([], [])


def test_with_the_broker_down_the_flag_is_cleared_and_the_relay_beat_starts_the_drain(
    handler, django_capture_on_commit_callbacks
):
    with mock.patch.object(drain_outbox_queue, "apply_async", side_effect=OSError("broker down")):
        with django_capture_on_commit_callbacks(execute=True):
            rows = _commit_rows([TOPIC, TOPIC])
    assert _processed(rows) == 0
    # Their hand-over is taken back, as for a refused task (the sweep relays them once past its grace) ...
    assert OutboxMessage.objects.filter(pk__in=[r.pk for r in rows], dispatched_at__isnull=True).count() == 2
    # ... and they wait in their list with no drain pending: the relay's beat (every 30 s) starts one at once.
    relay_outbox.apply().get()
    assert _processed(rows) == 2 and len(handler.payloads) == 2


def test_a_lost_drain_task_holds_rows_back_only_until_its_flag_lapses(handler, django_capture_on_commit_callbacks):
    queue = registry.queue_name(TOPIC)
    with mock.patch.object(drain_outbox_queue, "apply_async"):  # published, then lost by the broker
        with django_capture_on_commit_callbacks(execute=True):
            rows = _commit_rows([TOPIC])
        relay_outbox.apply().get()  # the flag still stands: the beat leaves the drain to come
    assert _processed(rows) == 0
    flag = drain._keys(queue)[1]
    client = store.redis_cache().client.get_client(write=True)
    assert 0 < client.ttl(flag) <= drain.FLAG_SECONDS
    client.delete(flag)  # FLAG_SECONDS later
    relay_outbox.apply().get()
    assert _processed(rows) == 1


def test_a_group_that_failed_is_retried_row_by_row_so_one_bad_row_holds_back_no_other(
    many_handler, django_capture_on_commit_callbacks
):
    many_handler.outcomes = [ConnectionError("smtp down")]
    with mock.patch.object(drain_outbox_queue, "apply_async"):
        with django_capture_on_commit_callbacks(execute=True):
            rows = _commit_rows([MANY_TOPIC, MANY_TOPIC, MANY_TOPIC])
    queue = registry.queue_name(MANY_TOPIC)
    now = timezone.now()
    assert drain_outbox_queue.apply(args=[queue]).get() == 3
    assert _processed(rows) == 0 and len(many_handler.calls) == 1  # one attempt for the group, failed together
    # After the backoff the sweep hands them over again, each alone: the second row still fails, the others go.
    many_handler.outcomes = [outbox.DONE, ValueError("bad row"), outbox.DONE]
    assert services.relay_pending(now=now + timedelta(seconds=31)) == 3
    assert len(many_handler.calls) == 1 and many_handler.payloads == [{"thing_id": n} for n in range(3)]
    stored = {r.pk: r for r in OutboxMessage.objects.filter(pk__in=[r.pk for r in rows])}
    assert [stored[r.pk].processed_at is not None for r in rows] == [True, False, True]
    assert stored[rows[1].pk].failures == 2 and stored[rows[1].pk].last_error == "ValueError: bad row"
