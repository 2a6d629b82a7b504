"""Celery's Redis transport (kombu's), with one Redis client per channel instead of one per command.

kombu's Redis channel builds a new ``redis.Redis`` around its connection pool for every command it sends without
a client of its own (``conn_or_acquire``): every publish, acknowledgement and queue-length read. redis-py's
constructor copies its table of some 170 response callbacks each time, which cost the checkout's one task publish
more CPU than the LPUSH it sends. A client holds no connection of its own (each command takes one from the pool and
gives it back, so threads may share it): here each channel keeps the client it made for its current pool, and makes
a new one when kombu replaces the pool (after a disconnect). Selected for ``redis://`` and ``rediss://`` brokers by
``etsy.task_queues.broker_transport``; RabbitMQ and Sentinel brokers keep their own transports.
"""

from __future__ import annotations

from contextlib import contextmanager

from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    _shared_client = None

    @contextmanager
    def conn_or_acquire(self, client=None):
        if client:
            yield client
            return
        shared = self._shared_client
        if shared is None or shared.connection_pool is not self.pool:
            shared = self._shared_client = self._create_client()
        yield shared


class Transport(kombu_redis.Transport):
    Channel = Channel
