"""The session engine: Django's cached_db sessions, with each web process keeping the sessions it read.

Every signed-in request reads its session before anything else, and that Redis round trip was
as much of a signed-in product page as the page's own read (``make bench-web``, py-spy). When
the sessions live in the Redis the near cache watches (``etsy.near_cache.tracks_sessions``),
a process keeps each session it read from Redis in its near cache, under the rules of
``etsy.near_cache``: a copy is dropped by Redis's invalidation message when any process saves,
cycles or deletes that session (sign-in, sign-out, a password change ending other sessions),
this process's own writes drop it at once, and no copy outlives the key's TTL in Redis. The copy is
the stored bytes, decoded per request, so no request sees objects another one changed. The
database stays the source of truth (cached_db).
"""

from __future__ import annotations

import logging

from django.contrib.sessions.backends.cached_db import SessionStore as CachedDbSessionStore

from etsy import near_cache

logger = logging.getLogger(__name__)


class SessionStore(CachedDbSessionStore):
    def _near(self):
        if not self.session_key or not near_cache.tracks_sessions():
            return None
        near = near_cache.get()
        return near if near is not None and near.tracking else None

    def load(self):
        near = self._near()
        if near is None:
            return super().load()
        raw = self._cache.make_key(self.cache_key)
        kept = near.lookup([raw]).get(raw)
        if kept is not None:  # the stored bytes, decoded per request: no request shares another's objects
            return self._cache.client.decode(kept)
        since = near.snapshot()
        try:
            client = self._cache.client.get_client(write=False)
            pipe = client.pipeline(transaction=False)
            pipe.get(raw)
            pipe.pttl(raw)
            value, pttl = pipe.execute()
        except Exception:
            logger.warning("session read from Redis failed; using the database", exc_info=True)
            return super().load()
        if value is None:
            return super().load()  # from the database, stored in Redis for the next request
        near.store({raw: (value, int(pttl))}, since)
        return self._cache.client.decode(value)

    def _forget(self, session_key) -> None:
        if session_key:
            near_cache.forget([self._cache.make_key(self.cache_key_prefix + session_key)])

    def save(self, must_create=False):
        super().save(must_create=must_create)
        self._forget(self.session_key)

    def delete(self, session_key=None):
        super().delete(session_key)
        self._forget(session_key or self.session_key)
