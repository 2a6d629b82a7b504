"""Cases in the admin: the seller's cases (their shop only) and marketplace staff's queue of escalated cases.

Sellers reach their shop's cases without model permissions (the queryset is the scope, as for conversations):
the change form shows the thread and takes a message and/or a refund. The staff queue (``EscalatedCase``) is
for marketplace admins only: a note, or a decision (refund all or an amount, or close), recorded with who and
when. Every change goes through ``cases.services``.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html, linebreaks
from django.utils.safestring import mark_safe

from cases import selectors, services
from cases.forms import SellerCaseForm, StaffDecisionForm
from cases.models import Case, EscalatedCase
from etsy.admin_permissions import is_marketplace_admin
from etsy.exceptions import DomainError
from shops.admin_scoping import ShopScopedAdmin, seller_shop

SUMMARY_FIELDS = ["order_link", "kind", "status", "description_text", "seller_deadline", "refund_amount", "thread"]


def _thread(case: Case) -> str:
    rows = []
    for event in case.events.select_related("author").order_by("created_at", "id"):
        who = {"seller": case.shop.name, "buyer": "Buyer", "staff": "Marketplace staff"}.get(event.role, "Marketplace")
        amount = format_html(" · refund ${}", event.amount) if event.amount else ""
        staff = format_html(" ({})", event.author.email) if event.role == "staff" and event.author else ""
        rows.append(
            format_html(
                '<div class="case-event" style="margin-bottom:1em"><p><strong>{}{}</strong> · {} · {}{}</p>{}</div>',
                who,
                staff,
                event.get_kind_display(),
                event.created_at.strftime("%b %d, %H:%M"),
                amount,
                mark_safe(linebreaks(event.body, autoescape=True)),
            )
        )
    return mark_safe("".join(rows)) or "-"


class CaseSummaryMixin:
    list_select_related = ["order", "shop", "buyer"]
    readonly_fields = SUMMARY_FIELDS
    view_on_site = False

    @admin.display(description="Order")
    def order_link(self, obj):
        return format_html(
            '<a href="{}">Order #{}</a>', reverse("admin:orders_order_change", args=[obj.order_id]), obj.order_id
        )

    @admin.display(description="Description")
    def description_text(self, obj):
        return mark_safe(linebreaks(obj.description, autoescape=True))

    @admin.display(description="Thread")
    def thread(self, obj):
        return _thread(obj)

    def has_add_permission(self, request):
        return False  # buyers open cases

    def has_delete_permission(self, request, obj=None):
        return False  # a case is a record

    def save_related(self, request, form, formsets, change):
        pass  # nothing of the case itself is edited here


@admin.register(Case)
class CaseAdmin(CaseSummaryMixin, ShopScopedAdmin):
    form = SellerCaseForm
    shop_path = "shop"
    list_display = ["__str__", "status", "seller_deadline", "refund_amount", "opened_at"]
    list_filter = ["status", "kind"]
    search_fields = ["=order__id", "buyer__email"]
    fieldsets = [(None, {"fields": SUMMARY_FIELDS}), ("Answer", {"fields": ["message", "refund", "amount"]})]

    def _is_seller_or_admin(self, request) -> bool:
        return (
            request.user.is_active
            and request.user.is_staff
            and (is_marketplace_admin(request) or seller_shop(request) is not None)
        )

    def has_module_permission(self, request):
        return self._is_seller_or_admin(request)

    def has_view_permission(self, request, obj=None):
        return self._is_seller_or_admin(request) and self._owns(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._is_seller_or_admin(request) and self._owns(request, obj)

    def get_list_display(self, request):
        if is_marketplace_admin(request):
            return [*self.list_display[:2], "shop", *self.list_display[2:]]
        return self.list_display

    def get_fieldsets(self, request, obj=None):
        if obj is not None and obj.shop.owner_id != request.user.pk:  # staff looking on: they act in the queue
            return [(None, {"fields": SUMMARY_FIELDS})]
        return self.fieldsets

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            if data.get("message"):
                services.add_seller_message(seller=request.user, case_id=obj.pk, body=data["message"])
            if data.get("refund"):
                amount = data["amount"] if data["refund"] == "part" else None
                case = services.refund_by_seller(seller=request.user, case_id=obj.pk, amount=amount)
                messages.success(request, f"Refunded ${case.refund_amount}; the buyer is emailed.")
        except DomainError as exc:
            messages.error(request, exc.message)


@admin.register(EscalatedCase)
class EscalatedCaseAdmin(CaseSummaryMixin, admin.ModelAdmin):
    form = StaffDecisionForm
    list_display = ["__str__", "shop", "buyer", "escalated_at", "refund_amount"]
    fieldsets = [(None, {"fields": SUMMARY_FIELDS}), ("Decision", {"fields": ["decision", "amount", "note"]})]

    def get_queryset(self, request):
        return selectors.list_escalated_cases()

    def has_module_permission(self, request):
        return is_marketplace_admin(request)

    def has_view_permission(self, request, obj=None):
        return is_marketplace_admin(request)

    def has_change_permission(self, request, obj=None):
        return is_marketplace_admin(request)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            if data.get("decision"):
                case = services.decide_case(
                    staff=request.user,
                    case_id=obj.pk,
                    refund=data["decision"] == "refund",
                    amount=data.get("amount") if data["decision"] == "refund" else None,
                    note=data.get("note") or "",
                )
                outcome = (
                    f"refunded ${case.refund_amount}" if case.status == Case.Status.RESOLVED_REFUNDED else "closed"
                )
                messages.success(request, f"{case}: {outcome}; buyer and seller are emailed.")
            elif data.get("note"):
                services.add_staff_note(staff=request.user, case_id=obj.pk, body=data["note"])
        except DomainError as exc:
            messages.error(request, exc.message)
