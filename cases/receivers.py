"""Cases' signal receivers: they schedule work after commit and write nothing themselves."""

from __future__ import annotations

from functools import partial

from django.db import transaction

from cases import tasks


def resolve_case_after_full_refund_on_commit(sender, *, order_id: int, amount, remaining, **kwargs) -> None:
    """A refund that left nothing to refund resolves the order's open case (``payments.signals.refund_booked``)."""
    if remaining == 0:
        transaction.on_commit(partial(tasks.resolve_case_refunded_outside.delay, order_id=order_id, amount=str(amount)))
