"""Signal handlers of the accounts app (connected in AccountsConfig.ready)."""

from __future__ import annotations

from functools import partial

from anymail.signals import EventType, tracking
from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from rest_framework.authtoken.models import Token

from accounts import services
from accounts.services import profile as profile_services
from etsy import cache


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
@receiver(post_delete, sender=settings.AUTH_USER_MODEL)
def drop_kept_account(sender, instance, **kwargs) -> None:
    """Drop this process's copy of the account now, and every process's after the commit (accounts.backends).

    The local copy goes at once so that this process's next request, inside the same
    transaction or after it, reads the account as written.
    """
    key = cache.account_key(instance.pk)
    cache.forget_near(key)
    transaction.on_commit(partial(cache.delete, key))


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def revoke_api_tokens_on_new_password(sender, instance, created: bool, **kwargs) -> None:
    """A new password (changed, reset in the browser or set by staff) ends the account's API token, as it ends
    its other browser sessions: a client that had the old password or a stolen device loses access.

    Django marks a password set in this save with ``_password`` until the save ends; a hash upgrade at sign-in
    clears that mark first, so it keeps the token.
    """
    if not created and getattr(instance, "_password", None) is not None:
        profile_services.revoke_api_tokens(user_id=instance.pk)


@receiver(post_save, sender=Token)
@receiver(post_delete, sender=Token)
def drop_kept_token(sender, instance, **kwargs) -> None:
    """Drop this process's note of which account the token is now, and every process's after the commit
    (accounts.authentication): a deleted token is refused from the next request on."""
    key = cache.account_token_key(instance.key)
    cache.forget_near(key)
    transaction.on_commit(partial(cache.delete, key))


# Postmark bounce types that mean the address will never accept mail (soft bounces, auto-replies and
# DNS hiccups are temporary). Other providers send no ``Type``: anymail reports only permanent bounces.
_PERMANENT_POSTMARK_BOUNCES = frozenset(
    {"HardBounce", "BadEmailAddress", "ManuallyDeactivated", "SpamNotification", "SpamComplaint", "Blocked"}
)


@receiver(tracking)
def mark_undeliverable_on_bounce_or_complaint(sender, event, esp_name: str, **kwargs) -> None:
    """A provider's tracking webhook (django-anymail) reported a hard bounce or a spam complaint."""
    if not event.recipient or event.event_type not in (EventType.BOUNCED, EventType.COMPLAINED):
        return
    bounce_type = (event.esp_event or {}).get("Type") if isinstance(event.esp_event, dict) else None
    if event.event_type == EventType.BOUNCED and bounce_type and bounce_type not in _PERMANENT_POSTMARK_BOUNCES:
        return
    services.mark_address_undeliverable(
        email=event.recipient,
        reason="complained" if event.event_type == EventType.COMPLAINED else "bounced",
        provider=esp_name,
        detail=event.description or bounce_type or "",
    )
