"""Signal handlers of the cart app (connected in CartConfig.ready())."""

import logging

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from cart.services import merge_guest_cart

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
