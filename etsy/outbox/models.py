from django.db import models
from django.db.models import Q


class OutboxMessage(models.Model):
    """A side effect promised in the same transaction as the data it is about.

    Handed to Celery after commit and by the sweep until processed; handlers are idempotent,
    keyed by ``id``. A row whose handler failed ``OUTBOX_MAX_ATTEMPTS`` times is parked
    (``dead_at``) until an admin retries it.
    """

    topic = models.CharField(max_length=100)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    #: last hand-over to Celery; ``attempts`` counts hand-overs
    dispatched_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    #: handler runs that raised (or found no handler); the cap parks the row
    failures = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    #: the sweep leaves the row alone until then (backoff after a failure, lost hand-over guard)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    #: parked as a dead letter: never handed over again until retried
    dead_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "outbox message"
        indexes = [
            models.Index(
                fields=["created_at"],
                name="outbox_pending_idx",
                condition=Q(processed_at__isnull=True, dead_at__isnull=True),
            ),
            models.Index(fields=["dead_at"], name="outbox_dead_idx", condition=Q(dead_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.topic} #{self.pk}"

    @property
    def state(self) -> str:
        if self.processed_at is not None:
            return "processed"
        if self.dead_at is not None:
            return "dead letter"
        return "pending"
