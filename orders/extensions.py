"""Hooks orders declares for the apps above it (supplied in their ``AppConfig.ready()``; see etsy/hooks.py)."""

from __future__ import annotations

from decimal import Decimal

from etsy.hooks import Hook

#: ``is_review_blocked(order_id=...) -> bool``: a case is open on the order (the cases app), so it
#: cannot be reviewed or its review edited. Without that app nothing blocks a review.
is_review_blocked = Hook("is_review_blocked", default=lambda **kwargs: False)

#: ``list_order_timeline_entries(order=...) -> list[orders.timeline.TimelineEntry]``: entries another
#: app adds to the order page's timeline (cases opened, answered, escalated). None without it.
list_order_timeline_entries = Hook("list_order_timeline_entries", default=lambda **kwargs: [])

#: ``get_refunded_amount(order_id=...) -> Decimal``: what the buyer has had back for the order
#: (the payments app's ledger). Zero without a payments app.
get_refunded_amount = Hook("get_refunded_amount", default=lambda **kwargs: Decimal("0.00"))

#: ``get_refunded_amounts(order_ids=[...]) -> dict[int, Decimal]``: the same for many orders in one read (lists
#: of orders: the history page, the API's lists); orders without refunds may be missing from the dict.
get_refunded_amounts = Hook("get_refunded_amounts", default=lambda **kwargs: {})

#: ``(*, order, user) -> dict | None``: the order page's case section (the context of ``template``, which
#: that dict names), or None to show nothing; cases supplies it.
order_case_section = Hook("orders.order_case_section", default=lambda *, order, user: None)
