"""Per-user limits on new conversations and messages (abuse), stricter for accounts younger than a day.

Fixed one-hour windows counted in Redis. When Redis cannot answer, the limit is not applied: a
marketplace that cannot take messages during a cache outage loses more than a spammer gains.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import caches
from django.utils import timezone

from messaging.exceptions import RateLimited

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60 * 60
NEW_ACCOUNT_AGE = timedelta(days=1)
CONVERSATION, MESSAGE = "conversation", "message"


def limit_for(*, user, kind: str, now: datetime) -> int:
    """How many ``kind`` a user may send per hour (settings MESSAGING_*_PER_HOUR, *_NEW for young accounts)."""
    joined = getattr(user, "created_at", None) or getattr(user, "date_joined", None)
    is_new = joined is not None and now - joined < NEW_ACCOUNT_AGE
    name = f"MESSAGING_{kind.upper()}S_PER_HOUR{'_NEW' if is_new else ''}"
    return getattr(settings, name)


def take(*, user, kind: str, now: datetime | None = None) -> None:
    """Count one ``kind`` for ``user`` in the current window. Raises RateLimited (``retry_after`` seconds)."""
    now = now or timezone.now()
    limit = limit_for(user=user, kind=kind, now=now)
    window = int(now.timestamp()) // WINDOW_SECONDS
    key = f"messaging:limit:{kind}:{user.pk}:{window}"
    cache = caches["default"]
    try:
        cache.add(key, 0, timeout=WINDOW_SECONDS + 60)
        count = cache.incr(key)
    except Exception:  # noqa: BLE001 - Redis unreachable or the key gone: do not block messaging
        logger.warning("messaging limit not checked", extra={"user_id": user.pk, "kind": kind})
        return
    if count > limit:
        retry_after = (window + 1) * WINDOW_SECONDS - int(now.timestamp())
        raise RateLimited(extra={"retry_after": max(retry_after, 1), "limit": limit})
