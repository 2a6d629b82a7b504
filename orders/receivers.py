"""Signal handlers of the orders app (connected in OrdersConfig.ready())."""

from __future__ import annotations

from functools import partial

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from orders.models import Review
from shops.signals import shop_changed


@receiver(post_save, sender=Review, dispatch_uid="orders.review_saved")
@receiver(post_delete, sender=Review, dispatch_uid="orders.review_deleted")
def announce_shop_reviews_changed(sender, instance: Review, **kwargs) -> None:
    """Whatever wrote the review (service, admin, shell), pages showing the shop's reviews refresh after commit."""
    transaction.on_commit(partial(shop_changed.send, sender=Review, shop_id=instance.shop_id, fields=["reviews"]))
