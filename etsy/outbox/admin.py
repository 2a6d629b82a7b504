"""Outbox rows for marketplace admins: pending, processed and parked (dead letter) rows; retry parked ones."""

from django.contrib import admin, messages

from etsy.admin_permissions import MarketplaceAdminOnly
from etsy.outbox import services
from etsy.outbox.models import OutboxMessage


class StateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("pending", "Pending"), ("dead", "Dead letter"), ("processed", "Processed")]

    def queryset(self, request, queryset):
        if self.value() == "pending":
            return queryset.filter(processed_at__isnull=True, dead_at__isnull=True)
        if self.value() == "dead":
            return queryset.filter(dead_at__isnull=False)
        if self.value() == "processed":
            return queryset.filter(processed_at__isnull=False)
        return queryset


@admin.register(OutboxMessage)
class OutboxMessageAdmin(MarketplaceAdminOnly):
    """Superusers only: sellers never see the outbox (it carries every shop's events)."""

    list_display = ["id", "topic", "state", "created_at", "attempts", "failures", "next_attempt_at", "dead_at"]
    list_filter = [StateFilter, "topic"]
    search_fields = ["=id", "topic"]
    readonly_fields = [
        "topic",
        "payload",
        "state",
        "created_at",
        "dispatched_at",
        "processed_at",
        "attempts",
        "failures",
        "next_attempt_at",
        "dead_at",
        "last_error",
    ]
    actions = ["retry_dead_letters"]

    @admin.action(description="Retry the selected dead letters")
    def retry_dead_letters(self, request, queryset):
        count = services.retry_dead_letters(message_ids=queryset.values_list("pk", flat=True))
        if count:
            self.message_user(request, f"{count} dead letter(s) handed over again.", messages.SUCCESS)
        else:
            self.message_user(request, "None of the selected messages is a dead letter.", messages.WARNING)
