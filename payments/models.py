"""Money after the charge: provider webhook events (each processed once), sellers' ledgers, transfers."""

from django.db import models


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
