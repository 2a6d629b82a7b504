"""The authentication backend: Django's ModelBackend, with the signed-in account kept in the web process.

``get_user`` runs on every request of a signed-in buyer, and its primary-key query was most of
what a cached product page cost them beyond a visitor's. Each process keeps the accounts it
loaded in its near cache (``etsy.near_cache``) under a marker key in Redis (``account:{id}``,
5 minutes). The account itself never leaves the process: Redis holds only the marker, no
password hash. Saving or deleting an account deletes its marker (``accounts.receivers``), and
Redis's invalidation message drops every process's copy: a password change or a deactivation
ends the other sessions as before, a few milliseconds later at most. Each request gets its own
copy, so nothing one request sets on ``request.user`` reaches another.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend

from etsy import cache, near_cache


def keep_account(near: near_cache.NearCache, user, *, since: int, also: dict[str, Any] | None = None) -> None:
    """Keep an active account read from the database after ``since`` (``near.snapshot()``) in this process.

    ``also``: other values read with it, by marker key ({key: value}), kept under the same rule; every marker
    is ensured in one round trip.
    """
    kept = {cache.account_key(user.pk): copy_for_request(user), **(also or {})}
    found = {}
    markers = cache.ensure_markers(*kept, ttl=cache.TTL["account"])
    for (key, value), (created, ttl_ms) in zip(kept.items(), markers, strict=True):
        if not created:  # a new marker's own invalidation message is on its way: keep it next time
            found[cache.raw_key(key)] = (value, ttl_ms)
    near.store(found, since)


def copy_for_request(user):
    """A shallow copy of a kept account for one request: what ``copy.copy`` makes (the model's own
    ``__getstate__``: its state and related-object cache copied too), without pickling's detour."""
    clone = user.__class__.__new__(user.__class__)
    clone.__dict__.update(user.__getstate__())
    return clone


class NearCachedModelBackend(ModelBackend):
    def get_user(self, user_id):
        near = near_cache.get()
        if near is None or not near.tracking:
            return super().get_user(user_id)
        raw = cache.raw_key(cache.account_key(user_id))
        kept = near.lookup([raw]).get(raw)
        if kept is not None:
            return copy_for_request(kept)
        since = near.snapshot()
        user = super().get_user(user_id)
        if user is None:
            return None
        keep_account(near, user, since=since)
        return user
