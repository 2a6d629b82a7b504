"""Seller notifications run by Celery beat."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.utils import timezone

from shops import services
from shops.models import Shop


@shared_task(name="shops.tasks.send_daily_digests")
def send_daily_digests(day: str | None = None) -> int:
    """Queue one digest per active shop for ``day`` (ISO date, default today); returns the count queued."""
    day = day or timezone.localdate().isoformat()
    shop_ids = list(Shop.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True))
    for shop_id in shop_ids:
        send_shop_digest.delay(shop_id, day)
    return len(shop_ids)


@shared_task(
    name="shops.tasks.send_shop_digest",
    autoretry_for=(ConnectionError, TimeoutError, OSError),
    retry_backoff=60,
    max_retries=5,
    acks_late=True,
)
def send_shop_digest(shop_id: int, day: str) -> str:
    """Send one shop's digest; idempotent per shop and day (DigestLog)."""
    return services.send_daily_digest(shop_id=shop_id, day=dt.date.fromisoformat(day)).reason
