"""Celery queues: routes per kind of work, one worker per queue, RabbitMQ quorum queues with publisher confirms."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import amqp
import pytest
import yaml
from celery import Celery
from django.conf import settings

from etsy import task_queues
from etsy.celery import app as celery_app
from tests.ops.celery_probe import PROBE_TASK

ROOT = Path(__file__).resolve().parents[2]
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"


@pytest.fixture(scope="module", autouse=True)
def _tasks_registered():
    celery_app.loader.import_default_modules()  # autodiscovery, as a worker does at start


def route_of(task_name: str) -> str:
    """The queue a task is sent to, without the per-test-worker suffix (pytest-xdist)."""
    suffix = settings.CELERY_TASK_DEFAULT_QUEUE.removeprefix("default")
    return celery_app.amqp.router.route({}, task_name)["queue"].name.removesuffix(suffix)


@pytest.mark.parametrize(
    ("task_name", "queue"),
    [
        ("etsy.outbox.tasks.process_outbox_message", "emails"),
        ("etsy.outbox.tasks.process_outbox_messages", "emails"),
        ("orders.tasks.send_shop_digest", "emails"),
        ("orders.tasks.send_daily_digests", "emails"),
        ("search.tasks.refresh_search_vocabulary", "search"),
        ("orders.tasks.resolve_pending_payments", "payments"),
        ("etsy.outbox.tasks.relay_outbox", "default"),
        ("etsy.outbox.tasks.prune_outbox", "default"),
        ("cart.tasks.cleanup_expired_reservations", "default"),
        ("catalog.tasks.compute_trending", "default"),
    ],
)
def test_each_task_is_routed_to_its_queue(task_name, queue):
    assert task_name in celery_app.tasks
    assert route_of(task_name) == queue


def test_every_scheduled_job_has_a_declared_queue():
    suffix = settings.CELERY_TASK_DEFAULT_QUEUE.removeprefix("default")  # "-gw0" under pytest-xdist
    declared = {queue.name for queue in celery_app.conf.task_queues}
    assert declared == {name + suffix for name in ("default", "emails", "search", "payments")}
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert route_of(entry["task"]) + suffix in declared


def test_rabbitmq_gets_quorum_queues_and_publisher_confirms():
    queues = task_queues.task_queues("amqp://guest:guest@rabbitmq:5672//")
    assert {queue.queue_arguments["x-queue-type"] for queue in queues} == {"quorum"}
    assert all(queue.durable for queue in queues)
    assert task_queues.broker_transport_options("amqp://x", visibility_timeout=60) == {"confirm_publish": True}
    redis_queues = task_queues.task_queues("redis://127.0.0.1:6379/1")
    assert all(queue.queue_arguments is None for queue in redis_queues)
    assert task_queues.broker_transport_options("redis://x", visibility_timeout=60) == {"visibility_timeout": 60}


def test_redis_brokers_get_the_transport_with_a_client_per_channel():
    assert task_queues.broker_transport("redis://127.0.0.1:6379/1") == "etsy.redis_broker:Transport"
    assert task_queues.broker_transport("rediss://cache.example:6380/0") == "etsy.redis_broker:Transport"
    assert task_queues.broker_transport("amqp://guest:guest@rabbitmq:5672//") is None
    assert task_queues.broker_transport("sentinel://127.0.0.1:26379") is None


def test_redis_channel_sends_its_commands_through_one_client_until_its_pool_is_replaced():
    queue = f"transport-probe-{uuid.uuid4().hex}"
    with Celery(
        broker=settings.REDIS_URL, broker_transport=task_queues.broker_transport(settings.REDIS_URL)
    ).connection_for_write() as connection:
        channel = connection.default_channel
        assert type(channel).__module__ == "etsy.redis_broker"
        with channel.conn_or_acquire() as first, channel.conn_or_acquire() as second:
            assert first is second
        given = object()
        with channel.conn_or_acquire(given) as client:
            assert client is given
        try:
            channel._put(queue, {"body": "one"})
            channel._put(queue, {"body": "two"})
            assert channel._size(queue) == 2
            assert channel._get(queue)["body"] == "one"
            channel._disconnect_pools()  # as kombu does after a lost connection: a new pool, so a new client
            with channel.conn_or_acquire() as third:
                assert third is not first
                assert third.connection_pool is channel.pool
            assert channel._get(queue)["body"] == "two"
            assert channel._size(queue) == 0
        finally:
            with channel.conn_or_acquire() as client:
                client.delete(queue)


def test_procfile_and_compose_start_one_worker_per_queue():
    procfile = (ROOT / "Procfile").read_text()
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for queue, service in [
        ("default", "worker"),
        ("emails", "worker-emails"),
        ("search", "worker-search"),
        ("payments", "worker-payments"),
    ]:
        assert f"--queues {queue} " in procfile
        command = compose[service]["command"]
        assert command[command.index("--queues") + 1] == queue
    assert compose["worker"]["environment"]["CELERY_BROKER_URL"].startswith("amqp://")
    assert "rabbitmq" in compose["worker"]["depends_on"]


def _rabbitmq_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def rabbitmq_worker(tmp_path):
    """A real Celery worker consuming only the ``emails`` queue on RabbitMQ."""
    if not _rabbitmq_reachable():
        pytest.skip("RabbitMQ is not running on 127.0.0.1:5672 (guest/guest); the broker test needs it")
    env = {
        **os.environ,
        "CELERY_BROKER_URL": RABBITMQ_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    # The production queue names, as the sender below uses (a test run's own names carry its suffix).
    env.pop("PYTEST_XDIST_WORKER", None)
    env.pop("PYTEST_VERSION", None)
    env.pop("CELERY_QUEUE_SUFFIX", None)  # a run with its own queue names would make the worker invent "emails"
    log_path = tmp_path / "worker.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "etsy",
            "worker",
            "-P",
            "solo",
            "--loglevel",
            "INFO",
            "--queues",
            "emails",
            "--include",
            "tests.ops.celery_probe",
            "--without-gossip",
            "--without-mingle",
            "--hostname",
            f"rabbit-{uuid.uuid4().hex[:8]}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=open(log_path, "w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while "ready." not in log_path.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("worker did not start:\n" + log_path.read_text()[-3000:])
        time.sleep(0.2)
    yield log_path
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.mark.worker
def test_task_travels_through_rabbitmq_to_the_worker_of_its_queue(rabbitmq_worker, tmp_path):
    sender = Celery("etsy-sender", broker=RABBITMQ_URL)
    sender.conf.update(
        task_queues=task_queues.task_queues(RABBITMQ_URL),
        task_default_queue=task_queues.DEFAULT_QUEUE,
        task_routes={**task_queues.task_routes(), PROBE_TASK: {"queue": "emails"}},
        broker_transport_options=task_queues.broker_transport_options(RABBITMQ_URL, visibility_timeout=60),
    )
    marker = tmp_path / "delivered"
    with sender.producer_or_acquire() as producer:
        sender.send_task(PROBE_TASK, args=[str(marker)], producer=producer)
        assert producer.channel._confirm_selected  # publisher confirms: the publish waited for the broker's ack
    deadline = time.monotonic() + 30
    while not marker.exists():
        assert time.monotonic() < deadline, "task not delivered:\n" + rabbitmq_worker.read_text()[-3000:]
        time.sleep(0.1)
    assert marker.read_text() == "emails"
    # The queue on the broker is a quorum queue: declaring it as a classic one is refused.
    with amqp.Connection("127.0.0.1:5672", userid="guest", password="guest") as connection:
        channel = connection.channel()
        with pytest.raises(amqp.exceptions.PreconditionFailed):
            channel.queue_declare("emails", durable=True, auto_delete=False, arguments={"x-queue-type": "classic"})
