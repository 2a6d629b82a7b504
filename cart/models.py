from django.conf import settings
from django.db import models
from django.db.models import Q


class CartItem(models.Model):
    """A line of a signed-in buyer's cart. ``reserved_until`` holds a unique item for this buyer.

    A reservation past ``reserved_until`` is no reservation: every reader compares with now().
    """

    # No index of its own: cart_item_unique_user_offering_text leads with it.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cart_items", db_index=False
    )
    product = models.ForeignKey(  # indexed by idx_cart_product
        "catalog.Product", on_delete=models.CASCADE, related_name="cart_items", db_index=False
    )
    # What is bought: the listing's offering (its size and colour, or the listing itself); its hold is per
    # offering. ``product`` stays beside it, always the offering's listing (written from the locked offering
    # by cart.services, never apart from it): the cached cart, product cards, shop grouping, ended-hold
    # notices and checkout's listing locks are per listing, and reading it here spares them a join.
    offering = models.ForeignKey("catalog.Offering", on_delete=models.CASCADE, related_name="cart_items")
    # The buyer's text for a listing that asks for it; two lines of one offering differ by it.
    personalization = models.CharField(max_length=1024, blank=True, default="", db_default="")
    quantity = models.PositiveIntegerField(default=1)
    reserved_until = models.DateTimeField(null=True, blank=True)
    added_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [
            # One line per offering and text: two sizes are two lines, and so is one size with two engravings.
            models.UniqueConstraint(
                fields=["user", "offering", "personalization"], name="cart_item_unique_user_offering_text"
            ),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="cart_item_quantity_positive"),
        ]
        indexes = [
            models.Index(fields=["product"], name="idx_cart_product"),
            models.Index(
                fields=["reserved_until"], name="idx_cart_reservation", condition=Q(reserved_until__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product_id}/{self.offering_id} for {self.user_id}"


class EndedHold(models.Model):
    """A line that left a buyer's cart without the buyer taking it out: told once on the cart page.

    Either its 15-minute hold ran out, or the shop stopped offering the option (size, colour...) it was for.
    """

    class Reason(models.TextChoices):
        HOLD_ENDED = "hold_ended", "the hold ran out"
        OPTION_REMOVED = "option_removed", "the shop no longer offers the chosen option"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ended_holds")
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    ended_at = models.DateTimeField()
    reason = models.CharField(max_length=16, choices=Reason.choices, default=Reason.HOLD_ENDED)

    class Meta:
        ordering = ["ended_at", "id"]
        constraints = [models.UniqueConstraint(fields=["user", "product"], name="ended_hold_unique_user_product")]
        indexes = [models.Index(fields=["ended_at"], name="idx_ended_hold_ended_at")]

    def __str__(self) -> str:
        return f"hold on {self.product_id} for {self.user_id} ended {self.ended_at:%Y-%m-%d %H:%M}"
