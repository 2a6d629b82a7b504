"""The email backend every message goes through: it drops undeliverable recipients, then delivers.

``EMAIL_BACKEND`` is :class:`SkipUndeliverableBackend`; the backend that really delivers
(anymail's provider backend, SMTP, or the console in development) is ``EMAIL_DELIVERY_BACKEND``.
Addresses land in :class:`accounts.models.UndeliverableAddress` through the provider's
bounce and complaint webhooks (accounts.receivers).
"""

from __future__ import annotations

import logging
import re
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend

from accounts.models import UndeliverableAddress
from etsy.prepared import prepared_cursor

logger = logging.getLogger(__name__)


# A bare address of dot-separated atoms (what the marketplace's own addresses are): parseaddr gives it back as it
# is, in a tenth of its time. Anything else (a display name, quotes, comments) is parsed.
_BARE_ADDRESS = re.compile(r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")


def _address(recipient: str) -> str:
    if _BARE_ADDRESS.fullmatch(recipient):
        return recipient.lower()
    return parseaddr(recipient)[1].strip().lower()


# Read before every batch of emails (a checkout's worker task sends two): hand-written and prepared, planned once
# per connection.
_UNDELIVERABLE_SQL = f"SELECT email FROM {UndeliverableAddress._meta.db_table} WHERE email = ANY(%s::text[])"


def list_undeliverable(addresses: set[str]) -> set[str]:
    if not addresses:
        return set()
    with prepared_cursor() as cursor:  # a constant statement, planned once per connection (etsy.prepared)
        cursor.execute(_UNDELIVERABLE_SQL, [sorted(addresses)])
        return {row[0] for row in cursor.fetchall()}


class SkipUndeliverableBackend(BaseEmailBackend):
    def __init__(self, fail_silently: bool = False, **kwargs):
        super().__init__(fail_silently=fail_silently)
        self.delivery = get_connection(settings.EMAIL_DELIVERY_BACKEND, fail_silently=fail_silently, **kwargs)

    def open(self):
        return self.delivery.open()

    def close(self):
        return self.delivery.close()

    def send_messages(self, email_messages) -> int:
        messages = list(email_messages)
        blocked = list_undeliverable({_address(r) for message in messages for r in message.recipients()})
        deliverable = []
        for message in messages:
            if blocked:
                message.to = [r for r in message.to if _address(r) not in blocked]
                message.cc = [r for r in message.cc if _address(r) not in blocked]
                message.bcc = [r for r in message.bcc if _address(r) not in blocked]
            if message.recipients():
                deliverable.append(message)
            else:
                logger.info(
                    "email skipped: every recipient is undeliverable",
                    extra={"event": "email_skipped_undeliverable", "subject": message.subject},
                )
        if not deliverable:
            return 0
        return self.delivery.send_messages(deliverable) or 0
