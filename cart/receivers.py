"""Signal handlers of the cart app (connected in CartConfig.ready())."""

import logging
from functools import partial

from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from cart.caching import write_cart_through_on_commit
from cart.models import CartItem
from cart.notices import remember_line_of_removed_option
from cart.services import merge_guest_cart
from catalog.models import Offering, Variation, VariationOption
from etsy import cache

logger = logging.getLogger(__name__)


@receiver(user_logged_in, dispatch_uid="cart.merge_guest_cart_on_login")
def merge_guest_cart_on_login(sender, request, user, **kwargs) -> None:
    """Move the guest cart of this browser session into the account's cart."""
    session = getattr(request, "session", None)
    if session is None:
        return
    skipped = merge_guest_cart(user=user, session=session)
    if skipped:
        # Views show these after the redirect (messages framework), e.g. "an item is no longer available".
        session["cart_merge_skipped"] = skipped


@receiver(post_save, sender=CartItem, dispatch_uid="cart.line_saved")
@receiver(post_delete, sender=CartItem, dispatch_uid="cart.line_deleted")
def write_cart_through_after_line_change(sender, instance: CartItem, **kwargs) -> None:
    """Keep the buyer's cached cart equal to the database, whichever code changed the line."""
    write_cart_through_on_commit(instance.user_id)


@receiver(post_save, sender=CartItem, dispatch_uid="cart.line_saved_stock")
@receiver(post_delete, sender=CartItem, dispatch_uid="cart.line_deleted_stock")
def drop_stock_count_after_line_change(sender, instance: CartItem, **kwargs) -> None:
    """A hold changes what the product page says ("in another buyer's cart"): drop its stock count after commit."""
    transaction.on_commit(partial(cache.delete, cache.inventory_key(instance.product_id)))


# What a seller's edit of the variations deletes (catalog.services.offerings): a cart line on an offering
# that is gone cascades away with it, and the buyer is told once on the cart page, as for an ended hold.
_OPTION_EDITS = (Offering, VariationOption, Variation)


@receiver(post_delete, sender=CartItem, dispatch_uid="cart.line_gone_with_its_option")
def tell_buyer_when_an_option_is_removed(sender, instance: CartItem, origin=None, **kwargs) -> None:
    """Remember a line whose size or colour the shop stopped offering (not a listing or account deleted)."""
    if isinstance(origin, _OPTION_EDITS) or getattr(origin, "model", None) in _OPTION_EDITS:
        remember_line_of_removed_option(user_id=instance.user_id, product_id=instance.product_id)
