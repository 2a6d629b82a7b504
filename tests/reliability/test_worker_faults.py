"""Broker down at checkout, and a worker killed in the middle of a task, with a real Celery worker.

Both run on a broker Redis of our own (stopped and started by the test) and the test database.
(b) The order commits while the broker is down; the outbox row survives and the seller is emailed
    once the broker is back and the relay hands the row over.
(e) A worker SIGKILLed while its task waits on a row lock we hold: late acks leave the message
    unacknowledged, the broker redelivers it after the (short) visibility timeout, the next worker
    runs it, and the effect (the seller email) happens exactly once.
"""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta

import psycopg
import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from kombu import pools as kombu_pools

from cart import services as cart_services
from etsy.celery import app as celery_app
from etsy.outbox import services as outbox
from etsy.outbox.models import OutboxMessage
from etsy.outbox.tasks import process_outbox_message
from orders import payments
from orders.events import TOPIC_ORDER_PLACED
from orders.models import Order
from orders.services.checkout import ShippingAddress, place_order
from search.receivers import VOCABULARY_PENDING_KEY
from tests.catalog.factories import ProductFactory
from tests.local_services import LocalRedis, free_port
from tests.worker import WorkerProcess, _test_database_url

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ADDRESS = ShippingAddress(
    name="Ada Buyer", line1="1 Market Street", line2="", city="Hudson", postcode="12534", country="US"
)
VISIBILITY_TIMEOUT = 4


def _reset_producer_pools() -> None:
    """Forget cached broker connections so the next publish connects to the current broker_url."""
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    kombu_pools.reset()


class Workers:
    """Start real workers on our broker; every one shares the mail directory."""

    def __init__(self, *, broker: LocalRedis, tmp_path):
        self.broker = broker
        self.tmp_path = tmp_path
        self.mail_dir = tmp_path / "mail"
        self.mail_dir.mkdir()
        self.started: list[WorkerProcess] = []

    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "DATABASE_URL": _test_database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "CELERY_BROKER_URL": self.broker.url,
            "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
            "CACHE_KEY_PREFIX": settings.CACHE_KEY_PREFIX,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "EMAIL_BACKEND": "tests.worker.EnvFileEmailBackend",
            "EMAIL_FILE_PATH": str(self.mail_dir),
            "DB_CONN_MAX_AGE": "0",
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        return env

    def start(self) -> WorkerProcess:
        worker = WorkerProcess(mail_dir=self.mail_dir, log_path=self.tmp_path / f"worker-{len(self.started)}.log")
        worker.start(self.env())
        self.started.append(worker)
        return worker

    def stop_all(self) -> None:
        for worker in self.started:
            if worker.process and worker.process.poll() is None:
                worker.process.kill()
                worker.process.wait(timeout=10)


@pytest.fixture
def workers(tmp_path, no_vocabulary_refresh):
    broker = LocalRedis(port=free_port(), workdir=tmp_path)
    broker.start()
    previous = celery_app.conf.broker_url, celery_app.conf.task_always_eager
    celery_app.conf.broker_url = broker.url
    celery_app.conf.task_always_eager = False
    _reset_producer_pools()
    pool = Workers(broker=broker, tmp_path=tmp_path)
    try:
        yield pool
    finally:
        pool.stop_all()
        broker.stop()
        celery_app.conf.broker_url, celery_app.conf.task_always_eager = previous
        _reset_producer_pools()


def _cart_from_new_shop(buyer) -> None:
    product = ProductFactory(quantity=1)
    cart_services.add_item(user=buyer, product_id=product.pk)


def _buy(buyer, key: str) -> Order:
    result = place_order(buyer=buyer, address=ADDRESS, payment_method=payments.PM_SUCCEEDS, idempotency_key=key)
    (order,) = result.orders
    return order


def _seller_mail(worker: WorkerProcess, order: Order) -> list:
    return [m for m in worker.read_mail() if m["Subject"].startswith(f"New order #{order.pk} ")]


def test_order_commits_while_the_broker_is_down_and_the_seller_is_emailed_after_it_returns(workers, buyer):
    _cart_from_new_shop(buyer)
    cache.delete(VOCABULARY_PENDING_KEY)  # so checkout's after-commit search sync really tries the broker
    workers.broker.stop()

    order = _buy(buyer, "broker-down-1")  # every after-commit publish fails: logged, never raised

    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    message = OutboxMessage.objects.get(topic=TOPIC_ORDER_PLACED, payload__order_id=order.pk)
    assert message.dispatched_at is None and message.processed_at is None  # kept for the sweep

    workers.broker.start()  # same port, empty: nothing was queued while it was away
    _reset_producer_pools()
    # The worker is started once the broker is back. (A worker running through the outage can die:
    # kombu's Redis transport raises an unrecoverable AttributeError in restore_unacked when the broker
    # vanishes while it holds an unacked countdown task; the supervisor restarts it. See docs/reliability.md.)
    worker = workers.start()
    deadline = time.monotonic() + 60
    while outbox.relay_pending(now=timezone.now() + timedelta(minutes=1)) == 0:  # what beat's relay_outbox does
        assert time.monotonic() < deadline, "relay never reached the broker"
        time.sleep(0.5)
    worker.wait_for_mail(lambda msgs: len(_seller_mail(worker, order)) >= 1, timeout=90)
    assert [m["To"] for m in _seller_mail(worker, order)] == [order.shop.owner.email]
    message.refresh_from_db()
    assert message.processed_at is not None


def _wait_for_lock_waiter(dsn: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    with psycopg.connect(dsn, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query ILIKE '%outbox_outboxmessage%' AND datname = current_database()"
            ).fetchone()
            if row[0]:
                return
            time.sleep(0.2)
    raise AssertionError("the worker's task never reached the row lock")


def test_task_of_a_killed_worker_runs_again_after_restart_and_emails_the_seller_once(workers, buyer):
    _cart_from_new_shop(buyer)
    workers.broker.stop()  # keep the after-commit relay from handing the row over before we hold its lock
    order = _buy(buyer, "killed-worker-1")
    workers.broker.start()
    _reset_producer_pools()
    message = OutboxMessage.objects.get(topic=TOPIC_ORDER_PLACED, payload__order_id=order.pk)
    dsn = _test_database_url()

    with psycopg.connect(dsn) as holder:
        holder.execute("SELECT id FROM outbox_outboxmessage WHERE id = %s FOR UPDATE", [message.pk])
        first = workers.start()
        delivered_at = time.monotonic()
        process_outbox_message.delay(message.pk)  # (not outbox.dispatch: its UPDATE would wait on our lock)
        _wait_for_lock_waiter(dsn)  # the task is running and blocked on our lock
        os.kill(first.process.pid, signal.SIGKILL)
        first.process.wait(timeout=10)
        holder.rollback()  # release the lock only after the worker died mid-task

    assert _seller_mail(first, order) == []
    message.refresh_from_db()
    assert message.processed_at is None  # the killed run changed nothing

    # kombu restores unacked messages older than the visibility timeout when a consumer starts polling
    # (and on a periodic sweep, every ~100 s with the transport's defaults): start after that age.
    time.sleep(max(0.0, delivered_at + VISIBILITY_TIMEOUT + 1 - time.monotonic()))
    second = workers.start()
    second.wait_for_mail(lambda msgs: len(_seller_mail(second, order)) >= 1, timeout=90)
    time.sleep(VISIBILITY_TIMEOUT + 2)  # long enough for any duplicate delivery to show up
    assert len(_seller_mail(second, order)) == 1
    message.refresh_from_db()
    assert message.processed_at is not None
    assert "process_outbox_message" in second.log()
