"""Signal handlers of the accounts app (connected in AccountsConfig.ready)."""

from __future__ import annotations

from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

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
