"""Case reads for buyers, sellers and staff, and what the order page shows. Missing or not theirs -> CaseNotFound."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from cases import eligibility
from cases.exceptions import CaseNotFound
from cases.models import Case, CaseEvent
from orders.timeline import TimelineEntry


def _with_thread(queryset: QuerySet[Case]) -> QuerySet[Case]:
    return queryset.select_related("order", "shop", "buyer", "resolved_by").prefetch_related(
        Prefetch("events", queryset=CaseEvent.objects.select_related("author").order_by("created_at", "id"))
    )


def has_active_case(order_id: int) -> bool:
    """Whether the order has a case not closed yet (orders asks it before a review: orders.extensions)."""
    return Case.objects.filter(order_id=order_id, status__in=Case.ACTIVE).exists()


def list_cases_for_buyer(*, buyer) -> QuerySet[Case]:
    return _with_thread(Case.objects.filter(buyer_id=buyer.pk)).order_by("-opened_at", "-id")


def list_case_summaries_for_buyer(*, buyer, status: str | None = None) -> QuerySet[Case]:
    """The buyer's cases for the "Your cases" page, newest first: each with its order and shop, no thread.

    ``status`` is ``"active"`` (not final yet), ``"closed"`` (final) or None for all.
    """
    queryset = Case.objects.filter(buyer_id=buyer.pk)
    if status == "active":
        queryset = queryset.filter(status__in=Case.ACTIVE)
    elif status == "closed":
        queryset = queryset.exclude(status__in=Case.ACTIVE)
    return queryset.select_related("order", "shop").order_by("-opened_at", "-id")


def get_case_for_buyer(*, buyer, case_id) -> Case:
    try:
        return _with_thread(Case.objects.filter(buyer_id=buyer.pk)).get(pk=int(case_id))
    except (Case.DoesNotExist, TypeError, ValueError):
        raise CaseNotFound() from None


def get_latest_case_for_order(*, buyer, order_id: int) -> Case | None:
    """The buyer's newest case on that order (the active one, when there is one), or None."""
    return _with_thread(Case.objects.filter(buyer_id=buyer.pk, order_id=order_id)).order_by("-opened_at", "-id").first()


def list_cases_for_shop(*, shop, status: str | None = None) -> QuerySet[Case]:
    queryset = Case.objects.filter(shop_id=shop.pk)
    if status:
        queryset = queryset.filter(status=status)
    return _with_thread(queryset).order_by("-opened_at", "-id")


def get_case_for_seller(*, seller, case_id) -> Case:
    try:
        return _with_thread(Case.objects.filter(shop__owner_id=seller.pk)).get(pk=int(case_id))
    except (Case.DoesNotExist, TypeError, ValueError):
        raise CaseNotFound() from None


def list_escalated_cases() -> QuerySet[Case]:
    """The staff queue: escalated cases, longest waiting first."""
    return (
        Case.objects.filter(status=Case.Status.ESCALATED)
        .select_related("order", "shop", "buyer")
        .order_by("escalated_at", "id")
    )


def get_order_case_section(*, order, user, now: datetime | None = None) -> dict | None:
    """The order page's case section for its buyer: the latest case and what the buyer may do now."""
    if order.buyer_id != getattr(user, "pk", None):
        return None
    now = now or timezone.now()
    case = get_latest_case_for_order(buyer=user, order_id=order.pk)
    active = case is not None and case.is_active
    openable = (
        []
        if active
        else [
            kind
            for kind in Case.Kind
            if eligibility.refusal_to_open(order=order, kind=kind, today=timezone.localdate(now)) is None
        ]
    )
    if case is None and not openable and order.status in ("cancelled", "pending_payment"):
        return None
    return {
        "template": "cases/_order_case.html",
        "case": case,
        "events": list(case.events.all()) if case else [],
        "can_open": not active and bool(openable),
        "openable_kinds": openable,
        "can_escalate": active and case.status != Case.Status.ESCALATED and now >= case.seller_deadline,
        "estimated_delivery": order.estimated_delivery,
    }


def list_timeline_entries(*, order) -> list[TimelineEntry]:
    """The order page's timeline entries of its cases (opened, escalated, resolved)."""
    entries: list[TimelineEntry] = []
    for case in Case.objects.filter(order_id=order.pk).order_by("opened_at", "id"):
        entries.append(TimelineEntry(case.opened_at, f"Case opened ({case.get_kind_display().lower()})"))
        if case.escalated_at:
            entries.append(TimelineEntry(case.escalated_at, "Case escalated to marketplace staff"))
        if case.resolved_at:
            label = case.get_status_display()
            if case.refund_amount:
                label = f"{label}: ${case.refund_amount} refunded"
            entries.append(TimelineEntry(case.resolved_at, f"Case {label[0].lower()}{label[1:]}"))
    return entries
