"""Page shells with holes for the visitor's blocks, and the single pipelined read of a hot page."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from etsy import metrics, near_cache
from etsy.cache.store import is_enabled, redis_cache

logger = logging.getLogger(__name__)

# --- page shells --------------------------------------------------------------------
# A page shell is a whole rendered page with holes where per-visitor blocks go (the
# account links and cart count, messages, the buy box, favorite buttons) and a marker
# where the CSRF token goes. Shells are cached like any other value; each request
# fills the holes, which costs far less than rendering the page.

CSRF_MARKER = "__csrf_token_hole__"


def hole(name: str) -> str:
    return f"<!--hole:{name}-->"


def render_shell(request, template_name: str, context: dict[str, Any]) -> str:
    """Render a page with holes instead of personal blocks (no visitor data may leak in)."""
    from django.template.loader import render_to_string

    return render_to_string(template_name, {**context, "shell_mode": True, "csrf_token": CSRF_MARKER}, request=request)


def fill_shell(shell: str, holes: dict[str, str], csrf_token: Callable[[], str]) -> str:
    """Put the visitor's blocks into a shell, then the CSRF token where a form needs one.

    ``csrf_token`` is called only when the page holds a form (it may set the CSRF cookie).
    """
    html = shell
    for name, value in holes.items():
        html = html.replace(hole(name), value)
    if CSRF_MARKER in html:
        html = html.replace(CSRF_MARKER, csrf_token())
    return html


# --- the CSRF token of a page's forms ----------------------------------------------------------
# Django's get_token draws its mask with 32 calls of secrets.choice: 92 us a page on the bench
# machine (timeit), about a fifth of a bare request; this one takes 17 us. The same mask is drawn here
# from one read of os.urandom
# (each byte below 248 = 4 x 62 taken modulo 62, so every character stays equally likely), and
# the token is Django's: mask + cipher of the cookie's secret, unmasked by CsrfViewMiddleware.

_CSRF_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"  # django.middleware.csrf's
_CSRF_INDEX = {c: i for i, c in enumerate(_CSRF_CHARS)}
_CSRF_LENGTH = 32
_UNBIASED_BELOW = 256 - 256 % len(_CSRF_CHARS)


def _random_csrf_string() -> str:
    picked: list[str] = []
    while len(picked) < _CSRF_LENGTH:
        picked.extend(_CSRF_CHARS[b % len(_CSRF_CHARS)] for b in os.urandom(48) if b < _UNBIASED_BELOW)
    return "".join(picked[:_CSRF_LENGTH])


def csrf_token(request) -> str:
    """``django.middleware.csrf.get_token``, with the same effects (a new secret when the visitor has none,
    the cookie renewed in the response), at a fifth of its cost."""
    secret = request.META.get("CSRF_COOKIE")
    if secret is None:
        secret = _random_csrf_string()
        request.META["CSRF_COOKIE"] = secret
    request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True
    mask = _random_csrf_string()
    n = len(_CSRF_CHARS)
    cipher = "".join(_CSRF_CHARS[(_CSRF_INDEX[s] + _CSRF_INDEX[m]) % n] for s, m in zip(secret, mask, strict=True))
    return mask + cipher


# --- one round trip for hot pages ---------------------------------------------------------


def read_with(
    keys: list[str], queue: Callable[[Any], None] | None = None, *, near_keys: tuple[str, ...] = ()
) -> dict[str, Any] | None:
    """Read ``keys`` and run the raw commands ``queue`` adds, in one pipelined round trip.

    Returns the values found (decoded like ``cache.get``) with the raw replies of the queued
    commands under ``"__replies__"``, or ``None`` when the cache is disabled or Redis failed:
    the caller then takes its ordinary (database) path.
    ``near_keys`` (among ``keys``, under ``near_cache.TRACKED_PREFIXES``) are answered from this
    process's copies when it has them, and kept there when read; with all of ``keys`` local and
    nothing queued, there is no round trip at all.
    """
    if not is_enabled():
        return None
    backend = redis_cache()
    near = near_cache.get() if near_keys else None
    found: dict[str, Any] = {}
    since = 0
    if near is not None:
        since = near.snapshot()
        raw_near = {backend.client.make_key(k): k for k in near_keys}
        found = {raw_near[raw]: value for raw, value in near.lookup(raw_near).items()}
        if found:
            metrics.near_cache_hits.inc(len(found))
        if queue is None and all(k in found for k in keys):
            found["__replies__"] = []
            return found
    remote = [k for k in keys if k not in found]
    to_keep = [k for k in near_keys if k in remote] if near is not None else []
    try:
        client = backend.client.get_client(write=True)
        pipe = client.pipeline(transaction=False)
        pipe.mget([backend.client.make_key(k) for k in remote])
        if queue is not None:
            queue(pipe)
        for k in to_keep:
            pipe.pttl(backend.client.make_key(k))
        values, *replies = pipe.execute()
        if to_keep:
            replies, ttls = replies[: -len(to_keep)], replies[-len(to_keep) :]
        read = {k: backend.client.decode(v) for k, v in zip(remote, values, strict=True) if v is not None}
        if to_keep:
            near.store(
                {backend.client.make_key(k): (read[k], ttl) for k, ttl in zip(to_keep, ttls, strict=True) if k in read},
                since,
            )
        found.update(read)
        found["__replies__"] = replies
        return found
    except Exception:
        logger.warning("pipelined cache read failed; using the database", exc_info=True)
        return None
