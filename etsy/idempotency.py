"""Idempotency keys for checkout (IETF draft "The Idempotency-Key HTTP Header Field"; Stripe's behaviour).

Rules (each key is scoped to one user: a key never replays someone else's response):
- missing key -> ``IdempotencyKeyMissing`` (400); malformed or longer than 255 -> ``IdempotencyKeyInvalid`` (400)
- first request with a key: a 5-minute "processing" lease is taken atomically (Redis SET NX)
- same key, same fingerprint, completed -> the stored status, body and headers again, byte for byte
  (plus ``Idempotent-Replayed: true``), with no new side effect
- same key while the first request is still processing -> ``IdempotencyRequestInProgress`` (409)
- same key, different payload (fingerprint) -> ``IdempotencyKeyReused`` (422)
- a request that fails before any side effect releases its key (the caller lets the error
  leave the ``attempt`` block), so the client may retry with the same key
- completed responses are kept ``settings.IDEMPOTENCY_TTL_SECONDS`` (24 hours)
- Redis unreachable -> ``IdempotencyUnavailable`` (503): refuse rather than risk a duplicate order.
  The records live in the "strict" cache alias, which never swallows Redis errors.

API view (adapter) usage::

    from etsy import idempotency

    key = idempotency.parse_key(request.headers.get("Idempotency-Key"))      # 400s
    fp = fingerprint_checkout(buyer=request.user, payload=data)             # orders.services.checkout
    with idempotency.attempt(scope=idempotency.user_scope(request.user), key=key, fingerprint=fp) as att:
        if att.replay is not None:
            return att.replay.to_response()
        try:
            result = place_order(...)
            response = att.complete_json(status=201 (or 202 if result.payment_status == "unknown"), data=...)
        except PaymentDeclined as exc:   # happened after side effects: store it too
            response = att.complete_json(status=402, data={...})
        # The cart is empty now; a retry of this same request must still replay:
        att.also_matches(fingerprint_checkout(buyer=request.user, payload=data))
        return response
    # Any other exception leaving the block (CartEmpty, ItemUnavailable, PaymentsUnavailable ...)
    # released the key; the adapter's usual error mapping answers.

HTML form (one-time token, double click places one order set): render ``new_form_token()``
in a hidden input, use the posted token as the key the same way, and complete with the
redirect: ``att.complete(status=303, body=b"", headers={"Location": url})``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from redis.exceptions import RedisError

from etsy.exceptions import DomainError, ServiceUnavailable

logger = logging.getLogger(__name__)

CACHE_ALIAS = "strict"
KEY_MAX_LENGTH = 255
PROCESSING_LEASE_SECONDS = 300  # longer than any checkout (5 s payment timeout, 3 s lock timeout)
_KEY_CHARS = re.compile(r"^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$")  # printable ASCII (sf-string)
# What parse_key accepts, as the API schema states it: 1-255 printable ASCII characters without `"` or `\`,
# no space at either end, optionally in double quotes (an sf-string). tests/api/test_api_errors.py checks
# that the two agree.
_KEY_BODY = r"[!#-\[\]-~](?:[ !#-\[\]-~]{0,253}[!#-\[\]-~])?"
KEY_SCHEMA = {
    "type": "string",
    "minLength": 1,
    "maxLength": KEY_MAX_LENGTH + 2,
    "pattern": rf'^(?:{_KEY_BODY}|"{_KEY_BODY}")$',
}

_SET_IF_OWNER = """
local current = redis.call('GET', KEYS[1])
if current and string.sub(current, 1, string.len(ARGV[1])) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  return 1
end
return 0
"""
_DELETE_IF_OWNER = """
local current = redis.call('GET', KEYS[1])
if current and string.sub(current, 1, string.len(ARGV[1])) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class IdempotencyKeyMissing(DomainError):
    code = "idempotency_key_missing"
    status_code = 400
    default_message = "The Idempotency-Key header is required for this request."


class IdempotencyKeyInvalid(DomainError):
    code = "idempotency_key_invalid"
    status_code = 400
    default_message = "The Idempotency-Key must be 1 to 255 printable ASCII characters."


class IdempotencyRequestInProgress(DomainError):
    code = "request_in_progress"
    status_code = 409
    default_message = "A request with this Idempotency-Key is still being processed. Retry shortly."


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    status_code = 422
    default_message = "This Idempotency-Key was already used for a different request."


class IdempotencyUnavailable(ServiceUnavailable):
    code = "idempotency_unavailable"
    default_message = "We cannot safely process this request right now. Nothing was charged; try again shortly."


def parse_key(raw: str | None) -> str:
    """Return the key from a header or form value (an sf-string, quotes optional). Raises the 400 errors."""
    if raw is None or not str(raw).strip():
        raise IdempotencyKeyMissing()
    key = str(raw).strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if not key or len(key) > KEY_MAX_LENGTH or not _KEY_CHARS.match(key) or '"' in key or "\\" in key:
        raise IdempotencyKeyInvalid()
    return key


def new_form_token() -> str:
    """Return a fresh one-time token for an HTML form (used as its idempotency key)."""
    return secrets.token_urlsafe(24)


def user_scope(user) -> str:
    return f"user:{user.pk}"


def fingerprint(data: Any) -> str:
    """Return a stable hash of a request's meaningful content (JSON-able data)."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)

    def to_response(self) -> HttpResponse:
        response = HttpResponse(self.body, status=self.status, content_type=self.content_type)
        for name, value in self.headers.items():
            response[name] = value
        response["Idempotent-Replayed"] = "true"
        return response


def _client():
    cache = caches[CACHE_ALIAS]
    return cache, cache.client.get_client(write=True)


def _encode(owner: str, record: dict) -> str:
    return f"{owner}|{json.dumps(record, separators=(',', ':'))}"


def _decode(raw: bytes | str) -> tuple[str, dict]:
    text = raw.decode() if isinstance(raw, bytes) else raw
    owner, _, payload = text.partition("|")
    return owner, json.loads(payload)


class Attempt:
    """One request's hold on a key. ``replay`` is set when a completed response exists."""

    def __init__(self, *, redis_key: str, owner: str, fingerprints: list[str], replay: StoredResponse | None):
        self.redis_key = redis_key
        self.owner = owner
        self.fingerprints = fingerprints
        self.replay = replay
        self.completed = replay is not None
        self._stored: dict | None = None

    def complete(self, *, status: int, body: bytes, content_type: str, headers: dict | None = None) -> StoredResponse:
        """Store the final response for 24 hours and return it (as StoredResponse)."""
        stored = StoredResponse(status=status, body=body, content_type=content_type, headers=dict(headers or {}))
        self._stored = {
            "state": "completed",
            "fingerprints": self.fingerprints,
            "status": status,
            "body": base64.b64encode(body).decode(),
            "content_type": content_type,
            "headers": stored.headers,
        }
        self._write()
        self.completed = True
        return stored

    def complete_json(self, *, status: int, data: Any, headers: dict | None = None) -> HttpResponse:
        """Serialize ``data`` once, store it, and return the response to send (same bytes as any replay)."""
        body = json.dumps(data, cls=DjangoJSONEncoder, separators=(",", ":")).encode()
        stored = self.complete(status=status, body=body, content_type="application/json", headers=headers)
        response = HttpResponse(stored.body, status=stored.status, content_type=stored.content_type)
        for name, value in stored.headers.items():
            response[name] = value
        return response

    def also_matches(self, *fingerprints: str) -> None:
        """Let a completed key also replay for these fingerprints (the state the request itself produced)."""
        for value in fingerprints:
            if value not in self.fingerprints:
                self.fingerprints.append(value)
        if self._stored is not None:
            self._stored["fingerprints"] = self.fingerprints
            self._write()

    def _write(self) -> None:
        cache, client = _client()
        try:
            done = client.eval(
                _SET_IF_OWNER,
                1,
                self.redis_key,
                self.owner,
                _encode(self.owner, self._stored),
                int(settings.IDEMPOTENCY_TTL_SECONDS),
            )
        except RedisError:
            logger.error("idempotency record not stored", exc_info=True, extra={"redis_key": self.redis_key})
            return
        if not done:
            logger.warning("idempotency lease lost before completion", extra={"redis_key": self.redis_key})

    def release(self) -> None:
        """Give the key up so the client may retry it (only while we still own it)."""
        try:
            _, client = _client()
            client.eval(_DELETE_IF_OWNER, 1, self.redis_key, self.owner)
        except RedisError:
            logger.error("idempotency key not released", exc_info=True, extra={"redis_key": self.redis_key})


def begin(*, scope: str, key: str, fingerprint: str) -> Attempt:
    """Take the key for this request, or return the completed response to replay.

    Raises IdempotencyKeyReused (422), IdempotencyRequestInProgress (409), IdempotencyUnavailable (503).
    """
    cache = caches[CACHE_ALIAS]
    redis_key = cache.make_key(f"idempotency:{scope}:{hashlib.sha256(key.encode()).hexdigest()}")
    owner = secrets.token_hex(16)
    processing = {"state": "processing", "fingerprints": [fingerprint]}
    try:
        client = cache.client.get_client(write=True)
        for _ in range(3):
            if client.set(redis_key, _encode(owner, processing), nx=True, ex=PROCESSING_LEASE_SECONDS):
                return Attempt(redis_key=redis_key, owner=owner, fingerprints=[fingerprint], replay=None)
            raw = client.get(redis_key)
            if raw is not None:
                break
        else:  # pragma: no cover - the key flapped three times in a row
            raise IdempotencyRequestInProgress()
    except RedisError as exc:
        logger.error("idempotency store unreachable", exc_info=True)
        raise IdempotencyUnavailable() from exc
    stored_owner, record = _decode(raw)
    # In progress first: the first request may already have changed what a fingerprint reads (a checkout empties
    # the cart), so only a completed answer, stored under every state it leaves behind, is compared.
    if record.get("state") != "completed":
        raise IdempotencyRequestInProgress()
    if fingerprint not in record.get("fingerprints", []):
        raise IdempotencyKeyReused()
    replay = StoredResponse(
        status=record["status"],
        body=base64.b64decode(record["body"]),
        content_type=record["content_type"],
        headers=record.get("headers") or {},
    )
    return Attempt(redis_key=redis_key, owner=stored_owner, fingerprints=record["fingerprints"], replay=replay)


@contextmanager
def attempt(*, scope: str, key: str, fingerprint: str) -> Iterator[Attempt]:
    """``begin`` as a block: an exception leaving it, or leaving without ``complete``, releases the key."""
    current = begin(scope=scope, key=key, fingerprint=fingerprint)
    try:
        yield current
    except BaseException:
        if not current.completed:
            current.release()
        raise
    if not current.completed:
        current.release()
