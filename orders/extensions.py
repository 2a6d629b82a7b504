"""What orders asks of the apps above it, as hooks they supply from AppConfig.ready() (etsy/hooks.py).

Each default is the right answer when the upper app is absent, so order pages and reviews work on their own.
"""

from __future__ import annotations

from etsy.hooks import Hook

#: ``(order_id) -> bool``: whether something above orders (an open buyer's case) forbids leaving or editing
#: the order's review now; cases supplies it.
is_review_blocked = Hook("orders.is_review_blocked", default=lambda order_id: False)

#: ``(*, order, user) -> dict | None``: the order page's case section (the context of ``template``, which
#: that dict names), or None to show nothing; cases supplies it.
order_case_section = Hook("orders.order_case_section", default=lambda *, order, user: None)

#: ``(*, order) -> list[tuple[datetime, str]]``: extra entries of the order page's timeline (a case opened,
#: escalated, resolved); cases supplies it.
list_timeline_entries = Hook("orders.list_timeline_entries", default=lambda *, order: [])
