"""Cache invalidation: a change of a thread drops its buyer's unread count (the header badge) after commit."""

from __future__ import annotations

from functools import partial

from django.db import transaction

from messaging import selectors


def forget_buyer_unread_count_after_commit(sender, instance, **kwargs) -> None:
    transaction.on_commit(partial(selectors.forget_unread_count, user_id=instance.buyer_id))
