"""The outbox (etsy.outbox): registry, publish in the caller's transaction, relay, retries with backoff,
dead letters (admin, metric, log event), retry action, pruning by age, unknown topics.

Time comes in through ``now=``; nothing sleeps."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from etsy import metrics, outbox
from etsy.celery import app as celery_app
from etsy.outbox import services
from etsy.outbox.models import OutboxMessage
from orders import events
from payments import events as payment_events
from shops.services import open_shop
from tests.accounts.factories import UserFactory
from tests.outbox.doubles import MANY_TOPIC, TOPIC

pytestmark = pytest.mark.django_db


@contextmanager
def captured(caplog, logger_name: str = "etsy.outbox.services"):
    logger = logging.getLogger(logger_name)
    logger.addHandler(caplog.handler)  # Celery's tracer may reconfigure the root logger
    try:
        with caplog.at_level(logging.INFO, logger=logger_name):
            yield caplog
    finally:
        logger.removeHandler(caplog.handler)


def _records(caplog, event: str | None = None) -> list[logging.LogRecord]:
    unique = list({id(record): record for record in caplog.records}.values())  # root and our logger both see them
    return [r for r in unique if event is None or getattr(r, "event", None) == event]


def _events(caplog) -> list[str]:
    return [getattr(record, "event", None) for record in _records(caplog)]


def _published(*, topic: str = TOPIC, payload: dict | None = None) -> OutboxMessage:
    return outbox.publish(topic=topic, payload=payload or {"thing_id": 7}, relay=False)


def _rows_written_by_failed_handlers() -> int:
    from accounts.models import User

    return User.objects.filter(email__startswith="written-before-failing-").count()


# --- registry -------------------------------------------------------------------------------------


def test_registry_keeps_one_handler_per_topic_and_accepts_the_same_one_again(handler):
    assert outbox.register(TOPIC, handler) is handler
    with pytest.raises(ImproperlyConfigured, match=TOPIC):
        outbox.register(TOPIC, lambda payload: outbox.DONE)
    assert outbox.get_handler(TOPIC) is handler and TOPIC in outbox.list_topics()


def test_orders_registers_its_handlers_when_the_app_is_ready():
    assert outbox.get_handler(events.TOPIC_ORDER_PLACED) is events.notify_seller_of_order
    assert outbox.get_handler(events.TOPIC_ORDER_SHIPPED) is events.notify_buyer_of_shipment
    # payments owns the refund of a cancelled paid order: it goes through the shop's ledger
    assert outbox.get_handler(events.TOPIC_ORDER_REFUND) is payment_events.refund_cancelled_order
    assert outbox.get_handler(events.TOPIC_CHECKOUT_PAID) is payment_events.pay_sellers


# --- publish and relay ----------------------------------------------------------------------------


def test_publish_hands_the_row_over_after_commit_and_the_handler_runs_once(handler, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            message = outbox.publish(topic=TOPIC, payload={"thing_id": 1})
            assert handler.payloads == []  # nothing leaves before commit
    assert len(callbacks) == 1 and handler.payloads == [{"thing_id": 1}]
    message.refresh_from_db()
    assert message.processed_at is not None and message.attempts == 1 and message.failures == 0
    assert services.process(message_id=message.pk) == "skipped" and len(handler.payloads) == 1


def test_publish_in_a_rolled_back_transaction_publishes_nothing(handler, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                outbox.publish(topic=TOPIC, payload={"thing_id": 1})
                outbox.publish_many(topic=TOPIC, payloads=[{"thing_id": 2}, {"thing_id": 3}])
                raise RuntimeError("the caller's write failed")
    assert callbacks == [] and not OutboxMessage.objects.exists() and handler.payloads == []


def test_sweep_delivers_due_rows_and_leaves_young_ones_to_their_own_relay(handler):
    message = _published()
    now = timezone.now()
    assert services.relay_pending(now=now) == 0  # younger than the grace period
    assert services.relay_pending(now=now + timedelta(seconds=11)) == 1
    message.refresh_from_db()
    assert message.processed_at is not None and handler.payloads == [{"thing_id": 7}]
    assert services.relay_pending(now=now + timedelta(hours=1)) == 0


def test_processing_a_row_claims_and_marks_it_in_one_statement(handler, django_assert_num_queries):
    # Inside the test's transaction the row's own transaction is a SAVEPOINT/RELEASE pair: with the UPDATE that
    # locks the row, marks it processed and returns its payload, three statements of bookkeeping (six before:
    # a locking read, a savepoint around the handler, the mark).
    message = _published(payload={"thing_id": 8})
    with django_assert_num_queries(3):
        assert services.process(message_id=message.pk) == "done"
    message.refresh_from_db()
    assert message.processed_at is not None and handler.payloads == [{"thing_id": 8}]


def test_processed_mark_is_rolled_back_with_a_failing_handler(handler):
    handler.outcomes = [ConnectionError("smtp down")]
    message = _published()
    assert services.process(message_id=message.pk) == "failed"
    message.refresh_from_db()
    assert message.processed_at is None and message.failures == 1
    assert services.process(message_id=message.pk) == "done" and len(handler.payloads) == 2


def test_deferred_row_is_handed_over_again_after_the_lost_task_guard(handler):
    handler.outcomes = [outbox.DEFER]
    message = _published()
    now = timezone.now() + timedelta(seconds=11)
    assert services.relay_pending(now=now) == 1
    message.refresh_from_db()
    assert message.processed_at is None and message.failures == 0  # a deferral is not a failure
    assert services.relay_pending(now=now + timedelta(minutes=4)) == 0
    assert services.relay_pending(now=now + timedelta(minutes=6)) == 1
    message.refresh_from_db()
    assert message.processed_at is not None and message.attempts == 2


def test_rows_of_one_queue_go_as_one_task_and_each_runs_once(handler, django_capture_on_commit_callbacks):
    from unittest import mock

    from etsy.outbox.tasks import process_outbox_message, process_outbox_messages

    handler.outcomes = [outbox.DONE, ConnectionError("smtp down"), outbox.DONE]
    with mock.patch.object(process_outbox_message, "apply_async", wraps=process_outbox_message.apply_async) as single:
        with mock.patch.object(
            process_outbox_messages, "apply_async", wraps=process_outbox_messages.apply_async
        ) as batch:
            with django_capture_on_commit_callbacks(execute=True):
                with transaction.atomic():
                    messages = outbox.publish_many(topic=TOPIC, payloads=[{"thing_id": n} for n in (1, 2, 3)])
    assert single.call_count == 0 and batch.call_count == 1
    assert batch.call_args.kwargs["args"] == [[m.pk for m in messages], [TOPIC] * 3]
    assert handler.payloads == [{"thing_id": 1}, {"thing_id": 2}, {"thing_id": 3}]
    rows = {m.pk: m for m in OutboxMessage.objects.filter(pk__in=[m.pk for m in messages])}
    first, failed, last = (rows[m.pk] for m in messages)
    # The second row's failure is its own: recorded on it (for the sweep), the rows around it done.
    assert first.processed_at is not None and last.processed_at is not None
    assert failed.processed_at is None and failed.failures == 1 and failed.next_attempt_at is not None
    assert all(row.attempts == 1 for row in rows.values())
    # A redelivered batch (late acks after a worker died) runs nothing twice.
    assert process_outbox_messages.apply(args=[[m.pk for m in messages]]).get() == ["skipped", "done", "skipped"]
    assert len(handler.payloads) == 4


def test_rows_relayed_on_commit_go_straight_to_their_task_and_the_sweep_waits_for_the_guard(
    handler, django_capture_on_commit_callbacks
):
    from unittest import mock

    from etsy.outbox.tasks import dispatch_outbox_messages, process_outbox_messages

    with mock.patch.object(dispatch_outbox_messages, "delay") as dispatching:
        with mock.patch.object(process_outbox_messages, "apply_async") as batch:  # queued, not run yet
            with django_capture_on_commit_callbacks(execute=True):
                with transaction.atomic():
                    messages = outbox.publish_many(topic=TOPIC, payloads=[{"thing_id": n} for n in (1, 2)])
    # One broker round trip from the committing process, no task that dispatches another, no query after commit.
    dispatching.assert_not_called()
    batch.assert_called_once()
    sent = batch.call_args.kwargs
    assert sent["args"] == [[m.pk for m in messages], [TOPIC, TOPIC]]
    # Straight to its queue by name (the default exchange): no read of the topic exchange's bindings on Redis.
    assert sent["exchange"] == "" and sent["routing_key"] == sent["queue"] == "emails" + settings.TASK_QUEUE_SUFFIX
    now = timezone.now()
    for row in OutboxMessage.objects.filter(pk__in=[m.pk for m in messages]):
        assert row.attempts == 1 and row.dispatched_at is not None
        assert row.next_attempt_at == row.dispatched_at + services.REDISPATCH_AFTER
    # Written as handed over: while its task waits in the queue the sweep leaves it alone, then takes it as lost.
    assert services.relay_pending(now=now + timedelta(seconds=11)) == 0
    assert services.relay_pending(now=now + services.REDISPATCH_AFTER + timedelta(seconds=1)) == 2
    assert handler.payloads == [{"thing_id": 1}, {"thing_id": 2}]


def test_a_refused_hand_over_takes_the_guard_back_for_the_sweep(handler, django_capture_on_commit_callbacks):
    from unittest import mock

    from etsy.outbox.tasks import process_outbox_messages

    with mock.patch.object(process_outbox_messages, "apply_async", side_effect=OSError("broker down")):
        with django_capture_on_commit_callbacks(execute=True):
            with transaction.atomic():
                messages = outbox.publish_many(topic=TOPIC, payloads=[{"thing_id": n} for n in (1, 2)])
    rows = OutboxMessage.objects.filter(pk__in=[m.pk for m in messages])
    assert all((r.attempts, r.dispatched_at, r.next_attempt_at) == (0, None, None) for r in rows)
    assert services.relay_pending(now=timezone.now() + timedelta(seconds=11)) == 2  # past the sweep's grace
    assert handler.payloads == [{"thing_id": 1}, {"thing_id": 2}]


def test_rows_of_a_topic_with_a_many_handler_run_together_in_one_claim(
    handler, many_handler, django_assert_num_queries
):
    from etsy.outbox.tasks import process_outbox_messages

    rows = [
        _published(topic=MANY_TOPIC, payload={"order_id": 1}),
        _published(payload={"thing_id": 2}),
        _published(topic=MANY_TOPIC, payload={"order_id": 3}),
    ]
    # The rows' topics read once, then a transaction per group (the many handler's two rows claimed in one
    # statement, the other row): 7 statements where a transaction per row took 9.
    with django_assert_num_queries(7):
        assert process_outbox_messages.apply(args=[[r.pk for r in rows]]).get() == ["done", "done", "done"]
    assert many_handler.calls == [[{"order_id": 1}, {"order_id": 3}]] and many_handler.payloads == []
    assert handler.payloads == [{"thing_id": 2}]
    assert all(r.processed_at is not None for r in OutboxMessage.objects.filter(pk__in=[r.pk for r in rows]))


def test_rows_handed_over_with_their_topics_are_grouped_without_reading_them(
    handler, many_handler, django_assert_num_queries
):
    from etsy.outbox.tasks import process_outbox_messages

    rows = [
        _published(topic=MANY_TOPIC, payload={"order_id": 1}),
        _published(payload={"thing_id": 2}),
        _published(topic=MANY_TOPIC, payload={"order_id": 3}),
        _published(payload={"thing_id": 4}),
    ]
    ids, topics = [r.pk for r in rows], [MANY_TOPIC, TOPIC, MANY_TOPIC, MANY_TOPIC]  # the last one is wrong
    with django_assert_num_queries(6):  # no read of the topics: two transactions of three statements
        outcomes = process_outbox_messages.apply(args=[ids, topics]).get()
    # A topic that does not match the row's leaves it unclaimed (for the sweep), never run by the wrong handler.
    assert outcomes == ["done", "done", "done", "skipped"]
    assert many_handler.calls == [[{"order_id": 1}, {"order_id": 3}]] and handler.payloads == [{"thing_id": 2}]
    assert OutboxMessage.objects.get(pk=rows[3].pk).processed_at is None
    assert services.relay_pending(now=timezone.now() + timedelta(seconds=11)) == 1
    assert handler.payloads == [{"thing_id": 2}, {"thing_id": 4}]


def test_a_failing_many_handler_gives_back_its_rows_and_the_others_commit(handler, many_handler):
    many_handler.outcomes = [ConnectionError("smtp down")]
    rows = [
        _published(topic=MANY_TOPIC, payload={"order_id": 1}),
        _published(topic=MANY_TOPIC, payload={"order_id": 2}),
        _published(payload={"thing_id": 3}),
    ]
    now = timezone.now()
    assert services.process_many(message_ids=[r.pk for r in rows], now=now) == ["failed", "failed", "done"]
    assert _rows_written_by_failed_handlers() == 0
    stored = {r.pk: r for r in OutboxMessage.objects.filter(pk__in=[r.pk for r in rows])}
    for row in rows[:2]:
        failed = stored[row.pk]
        assert (
            failed.processed_at is None and failed.failures == 1 and failed.last_error == "ConnectionError: smtp down"
        )
        assert failed.next_attempt_at == now + timedelta(seconds=30)
    assert stored[rows[2].pk].processed_at is not None
    # The sweep hands them over again after their backoff, each alone (tests/outbox/test_drain.py); they go through.
    assert services.relay_pending(now=now + timedelta(seconds=31)) == 2
    assert len(many_handler.calls) == 1 and many_handler.payloads == [{"order_id": 1}, {"order_id": 2}]
    assert OutboxMessage.objects.filter(pk__in=[r.pk for r in rows], processed_at__isnull=True).count() == 0


def test_a_many_handler_can_defer_rows(many_handler):
    many_handler.outcomes = [outbox.DEFER]
    rows = [_published(topic=MANY_TOPIC, payload={"order_id": n}) for n in (1, 2)]
    assert services.process_many(message_ids=[r.pk for r in rows]) == ["defer", "defer"]
    assert OutboxMessage.objects.filter(pk__in=[r.pk for r in rows], processed_at__isnull=True).count() == 2


def test_a_lone_row_keeps_its_single_task():
    from unittest import mock

    from etsy.outbox.tasks import process_outbox_message, process_outbox_messages

    message = OutboxMessage.objects.create(topic=TOPIC, payload={})
    with (
        mock.patch.object(process_outbox_message, "apply_async") as single,
        mock.patch.object(process_outbox_messages, "apply_async") as batch,
    ):
        assert services.dispatch([message.pk]) == 1
    single.assert_called_once()
    assert single.call_args.kwargs["args"] == [message.pk]
    batch.assert_not_called()


# --- failures, backoff, dead letters ------------------------------------------------------------


def test_backoff_doubles_from_30_seconds_up_to_an_hour():
    assert [services.retry_delay(n).total_seconds() for n in range(1, 10)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
        3600,
    ]


def test_failed_handler_is_rolled_back_and_the_sweep_waits_for_its_backoff(handler):
    handler.outcomes = [ConnectionError("smtp down")]
    message = _published()
    now = timezone.now()

    assert services.process(message_id=message.pk, now=now) == "failed"

    message.refresh_from_db()
    assert _rows_written_by_failed_handlers() == 0  # the handler's own writes were undone
    assert message.processed_at is None and message.dead_at is None
    assert message.failures == 1 and message.last_error == "ConnectionError: smtp down"
    assert message.next_attempt_at == now + timedelta(seconds=30)
    assert services.relay_pending(now=now + timedelta(seconds=29)) == 0
    assert services.relay_pending(now=now + timedelta(seconds=31)) == 1  # the retry succeeds
    message.refresh_from_db()
    assert message.processed_at is not None and len(handler.payloads) == 2


def test_failure_during_the_hand_over_keeps_its_backoff(handler):
    # Eager tasks run inside dispatch, before it records the hand-over: the backoff must survive it.
    handler.outcomes = [ConnectionError("smtp down")]
    message = _published()
    before = timezone.now()
    assert services.relay_pending(now=before + timedelta(seconds=11)) == 1
    message.refresh_from_db()
    assert message.failures == 1 and message.attempts == 1
    assert before + timedelta(seconds=30) <= message.next_attempt_at < before + timedelta(seconds=60)


def test_row_that_keeps_failing_is_parked_as_a_dead_letter_with_a_metric_and_a_log_event(handler, settings, caplog):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    handler.outcomes = [ValueError(f"bad payload {n}") for n in range(3)]
    message = _published()
    dead_before = metrics.outbox_dead_letters.labels(topic=TOPIC)._value.get()
    failed_before = metrics.outbox_failures.labels(topic=TOPIC)._value.get()
    now = timezone.now()

    with captured(caplog):
        outcomes = [services.process(message_id=message.pk, now=now + timedelta(hours=n)) for n in range(3)]

    assert outcomes == ["failed"] * 3
    message.refresh_from_db()
    assert message.dead_at == now + timedelta(hours=2) and message.next_attempt_at is None
    assert message.failures == 3 and message.last_error == "ValueError: bad payload 2"
    assert metrics.outbox_dead_letters.labels(topic=TOPIC)._value.get() == dead_before + 1
    assert metrics.outbox_failures.labels(topic=TOPIC)._value.get() == failed_before + 3
    assert _events(caplog).count("outbox_handler_failed") == 3
    (parked,) = _records(caplog, "outbox_dead_lettered")
    assert parked.levelno == logging.ERROR and parked.outbox_id == message.pk and parked.topic == TOPIC
    # Parked: never handed over or run again until retried.
    assert services.relay_pending(now=now + timedelta(days=1)) == 0
    assert services.process(message_id=message.pk) == "skipped" and len(handler.payloads) == 3


def test_relay_task_reports_parked_rows_in_a_gauge(handler):
    OutboxMessage.objects.filter(pk=_published().pk).update(dead_at=timezone.now())
    _published()  # pending, not parked
    celery_app.loader.import_default_modules()
    celery_app.tasks[celery_app.conf.beat_schedule["relay-outbox"]["task"]].apply_async().get()
    assert metrics.outbox_parked._value.get() == 1


def test_unknown_topic_is_a_failure_logged_as_an_error_and_ends_as_a_dead_letter(settings, caplog):
    settings.OUTBOX_MAX_ATTEMPTS = 2
    message = _published(topic="nobody.listens")
    now = timezone.now()
    with captured(caplog):
        assert services.process(message_id=message.pk, now=now) == "failed"
        message.refresh_from_db()
        assert message.failures == 1 and message.dead_at is None and "nobody.listens" in message.last_error
        assert services.process(message_id=message.pk, now=now + timedelta(minutes=1)) == "failed"
    message.refresh_from_db()
    assert message.processed_at is None and message.dead_at is not None
    unknown = _records(caplog, "outbox_unknown_topic")
    assert len(unknown) == 2 and all(r.levelno == logging.ERROR for r in unknown)
    assert "outbox_dead_lettered" in _events(caplog)


def test_handler_returning_neither_done_nor_defer_is_a_failure(handler):
    handler.outcomes = [None]
    message = _published()
    assert services.process(message_id=message.pk) == "failed"
    message.refresh_from_db()
    assert message.processed_at is None and message.failures == 1 and "None" in message.last_error


# --- admin --------------------------------------------------------------------------------------


@pytest.fixture
def superuser_client():
    from accounts.models import User

    client = Client()
    client.force_login(User.objects.create_superuser(email="root@example.com", password="x-unused-9"))
    return client


@pytest.fixture
def dead_letter(handler) -> OutboxMessage:
    message = _published(payload={"thing_id": 42})
    OutboxMessage.objects.filter(pk=message.pk).update(
        dead_at=timezone.now(), failures=8, last_error="ConnectionError: smtp down"
    )
    return message


def test_admin_lists_dead_letters_for_superusers(superuser_client, dead_letter):
    pending = _published(payload={"thing_id": 43})
    response = superuser_client.get(reverse("admin:outbox_outboxmessage_changelist"), {"state": "dead"})
    assert response.status_code == 200
    shown = [row.pk for row in response.context["cl"].result_list]
    assert shown == [dead_letter.pk] and pending.pk not in shown
    assert "dead letter" in response.content.decode()
    detail = superuser_client.get(reverse("admin:outbox_outboxmessage_change", args=[dead_letter.pk]))
    assert detail.status_code == 200 and "ConnectionError: smtp down" in detail.content.decode()


def test_sellers_cannot_see_the_outbox(dead_letter):
    seller = UserFactory(email="seller.outbox@example.com")
    open_shop(owner=seller, name="Outbox Peekers")
    client = Client()
    client.force_login(seller)
    assert client.get(reverse("admin:outbox_outboxmessage_changelist")).status_code == 403
    assert client.get(reverse("admin:outbox_outboxmessage_change", args=[dead_letter.pk])).status_code == 403
    index = client.get(reverse("admin:index"))
    assert index.status_code == 200 and "outboxmessage" not in index.content.decode().lower()
    response = client.post(
        reverse("admin:outbox_outboxmessage_changelist"),
        {"action": "retry_dead_letters", "_selected_action": [dead_letter.pk]},
    )
    assert response.status_code == 403
    dead_letter.refresh_from_db()
    assert dead_letter.dead_at is not None


def test_admin_retry_action_hands_a_dead_letter_over_again(
    superuser_client, dead_letter, handler, django_capture_on_commit_callbacks, caplog
):
    pending = _published(payload={"thing_id": 43})
    with captured(caplog), django_capture_on_commit_callbacks(execute=True):
        response = superuser_client.post(
            reverse("admin:outbox_outboxmessage_changelist"),
            {"action": "retry_dead_letters", "_selected_action": [dead_letter.pk, pending.pk]},
            follow=True,
        )
    assert response.status_code == 200 and "1 dead letter(s) handed over again." in response.content.decode()
    dead_letter.refresh_from_db()
    assert dead_letter.dead_at is None and dead_letter.failures == 0 and dead_letter.processed_at is not None
    assert handler.payloads == [{"thing_id": 42}]  # the pending row was not touched by the action
    assert "outbox_retried" in _events(caplog)


# --- pruning ------------------------------------------------------------------------------------


def test_prune_deletes_only_rows_processed_longer_ago_than_the_retention(settings):
    settings.OUTBOX_RETENTION_DAYS = 7
    now = timezone.now()
    old, recent, pending, parked = (_published() for _ in range(4))
    OutboxMessage.objects.filter(pk=old.pk).update(processed_at=now - timedelta(days=7, seconds=1))
    OutboxMessage.objects.filter(pk=recent.pk).update(processed_at=now - timedelta(days=6))
    OutboxMessage.objects.filter(pk__in=[pending.pk, parked.pk]).update(created_at=now - timedelta(days=30))
    OutboxMessage.objects.filter(pk=parked.pk).update(dead_at=now - timedelta(days=30))

    assert services.prune_processed(now=now) == 1
    assert set(OutboxMessage.objects.values_list("pk", flat=True)) == {recent.pk, pending.pk, parked.pk}

    settings.OUTBOX_RETENTION_DAYS = 1
    assert services.prune_processed(now=now) == 1
    assert set(OutboxMessage.objects.values_list("pk", flat=True)) == {pending.pk, parked.pk}


def test_prune_runs_from_beat():
    entry = celery_app.conf.beat_schedule["prune-outbox"]
    message = _published()
    OutboxMessage.objects.filter(pk=message.pk).update(processed_at=timezone.now() - timedelta(days=30))
    celery_app.loader.import_default_modules()  # what a worker does at start: autodiscover tasks
    assert celery_app.tasks[entry["task"]].apply_async().get() == 1
    assert not OutboxMessage.objects.exists()


def test_admin_search_by_id_or_topic_answers_any_text(superuser_client, dead_letter):
    url = reverse("admin:outbox_outboxmessage_changelist")
    assert [r.pk for r in superuser_client.get(url, {"q": str(dead_letter.pk)}).context["cl"].result_list] == [
        dead_letter.pk
    ]
    assert superuser_client.get(url, {"q": "thing_happened"}).status_code == 200
    assert superuser_client.get(url, {"q": "' OR 1=1 --"}).status_code == 200
