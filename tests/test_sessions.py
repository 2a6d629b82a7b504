"""Sessions are kept in the web process (etsy.sessions), and every write of one ends that at once."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.sessions.backends.cached_db import KEY_PREFIX
from django.core.cache import caches

from etsy import near_cache
from etsy.sessions import SessionStore
from tests.worker import run_in_another_process

HISTORY = "/orders/"  # a page only a signed-in buyer sees


def raw_key(session_key: str) -> str:
    return caches[settings.SESSION_CACHE_ALIAS].make_key(KEY_PREFIX + session_key)


def kept(session_key: str) -> bool:
    return bool(near_cache.get().lookup([raw_key(session_key)]))


@pytest.fixture
def tracked():
    assert near_cache.tracks_sessions()
    near = near_cache.get()
    assert near is not None and near.sync(), "the invalidation listener did not start"
    return near


@pytest.fixture
def signed_in(client, buyer, tracked):
    client.force_login(buyer)
    assert tracked.sync()  # the login's own write reached this process
    assert client.get(HISTORY).status_code == 200  # reads the session from Redis and keeps it
    assert kept(client.session.session_key)
    return client


def test_a_kept_session_is_read_without_redis(signed_in, monkeypatch):
    def no_redis(*args, **kwargs):
        raise AssertionError("the kept session was read from Redis")

    monkeypatch.setattr(caches[settings.SESSION_CACHE_ALIAS].client, "get_client", no_redis)
    assert signed_in.get(HISTORY).status_code == 200


def test_a_session_written_elsewhere_is_read_again(signed_in, tracked):
    # Another web process signs the visitor out (the test's own transaction hides the row from it,
    # so it writes the cached copy, which is what this process reads).
    session_key = signed_in.session.session_key
    run_in_another_process(
        "from django.core.cache import caches; "
        f"caches['{settings.SESSION_CACHE_ALIAS}'].set('{KEY_PREFIX}{session_key}', {{}}, 600)"
    )
    assert tracked.sync()
    assert not kept(session_key)
    assert signed_in.get(HISTORY).status_code == 302  # to the sign-in page


def test_this_process_sees_its_own_write_at_once(signed_in):
    session_key = signed_in.session.session_key
    store = SessionStore(session_key)
    store["note"] = "written here"
    store.save()
    assert not kept(session_key)  # without waiting for Redis's message
    assert SessionStore(session_key)["note"] == "written here"


def test_each_request_decodes_its_own_copy(signed_in):
    session_key = signed_in.session.session_key
    first = SessionStore(session_key)
    first.load()
    first._session["scratch"] = ["changed in one request"]  # never saved
    second = SessionStore(session_key)
    assert "scratch" not in second.load()


def test_sessions_elsewhere_are_not_kept(settings, client, buyer, tracked):
    settings.REDIS_SESSIONS_URL = "redis://127.0.0.1:1/0"  # not the Redis whose messages this process hears
    assert not near_cache.tracks_sessions()
    client.force_login(buyer)
    assert client.get(HISTORY).status_code == 200
    assert not kept(client.session.session_key)
