"""Outbox reads for publishers (their rows still to deliver) and for operations (parked rows)."""

from __future__ import annotations

from collections.abc import Iterable

from etsy.outbox.models import OutboxMessage


def list_pending_message_ids(*, topic: str, payload_key: str, values: Iterable) -> list[int]:
    """Ids of unprocessed, unparked rows of ``topic`` whose ``payload[payload_key]`` is one of ``values``."""
    return list(
        OutboxMessage.objects.filter(
            topic=topic,
            processed_at__isnull=True,
            dead_at__isnull=True,
            **{f"payload__{payload_key}__in": list(values)},
        )
        .order_by("id")
        .values_list("id", flat=True)
    )


def count_dead_letters() -> int:
    return OutboxMessage.objects.filter(dead_at__isnull=False).count()
