"""Money after the charge: provider webhook events (each processed once), sellers' ledgers, transfers."""

from django.db import models
from django.db.models import Q


class WebhookEvent(models.Model):
    """A provider event we processed: its id is unique, so a replay has no second effect."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=255, blank=True)
    outcome = models.CharField(max_length=50, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class LedgerEntry(models.Model):
    """One movement of a shop's money; append-only (the balance is the sum, nothing is updated in place).

    Signs per kind (database constraint): a sale and a fee refund add, a fee and a refund take away,
    a payout (a transfer to the seller's account, negative; its reversal, positive) and a dispute
    (hold, negative; release, positive) are never zero. ``key`` makes each movement happen once.
    A trigger refuses UPDATE and DELETE (migration 0003); ``save`` refuses an update first.
    """

    class Kind(models.TextChoices):
        SALE = "sale", "Sale"
        FEE = "fee", "Fee"
        REFUND = "refund", "Refund"
        FEE_REFUND = "fee_refund", "Fee refund"
        DISPUTE = "dispute", "Dispute"
        PAYOUT = "payout", "Payout"

    # No index of its own: ledger_shop_idx leads with it.
    shop = models.ForeignKey("shops.Shop", on_delete=models.PROTECT, related_name="ledger_entries", db_index=False)
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="ledger_entries", null=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    key = models.CharField(max_length=200, unique=True)
    reference = models.CharField(max_length=255, blank=True)  # the provider's id (ch_, tr_, trr_, re_, dp_)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "ledger entries"
        constraints = [
            models.CheckConstraint(
                condition=(
                    (Q(kind__in=["sale", "fee_refund"]) & Q(amount__gt=0))
                    | (Q(kind__in=["fee", "refund"]) & Q(amount__lt=0))
                    | (Q(kind__in=["payout", "dispute"]) & ~Q(amount=0))
                ),
                name="ledger_entry_sign_per_kind",
            ),
        ]
        indexes = [models.Index(fields=["shop", "-created_at"], name="ledger_shop_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} (shop {self.shop_id})"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise ValueError("Ledger entries are append-only: add a correcting entry instead.")
        super().save(*args, **kwargs)


class Transfer(models.Model):
    """The provider transfer that paid one order's net to its shop (separate charges and transfers)."""

    order = models.OneToOneField("orders.Order", on_delete=models.PROTECT, related_name="transfer")
    shop = models.ForeignKey("shops.Shop", on_delete=models.PROTECT, related_name="transfers")
    provider_transfer_id = models.CharField(max_length=255, unique=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="transfer_amount_positive")]

    def __str__(self) -> str:
        return f"{self.provider_transfer_id} ({self.amount})"
