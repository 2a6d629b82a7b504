"""Payments' events for the apps above it, whose listeners payments must not know.

``refund_booked`` is sent after the commit that booked a refund (``refunds.refund_order``), with
``order_id``, ``amount`` (Decimal, what this refund gives back) and ``remaining`` (what is still refundable;
0 when the order is now refunded in full). Receivers schedule their work; they write nothing themselves.
"""

from django.dispatch import Signal

refund_booked = Signal()
