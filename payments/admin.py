"""The seller's Payments page in the admin: balance, pending, fees, payouts, each order's net, CSV export.

Scoped to the seller's shop like every shop-data admin (shops.admin_scoping); read-only, since the
ledger is append-only and money moves only through services.
"""

from __future__ import annotations

import csv

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from etsy.admin_permissions import ReadOnlyAdminMixin
from etsy.exceptions import DomainError
from orders import selectors as order_selectors
from orders.exceptions import OrderNotFound
from orders.payments import PaymentError, PaymentsOpenCircuit
from payments import selectors
from payments.forms import RefundForm
from payments.models import LedgerEntry
from payments.services import payouts, refunds
from shops.admin_scoping import ShopScopedAdmin, seller_shop


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdminMixin, ShopScopedAdmin):
    list_display = ["created_at", "kind", "amount", "order", "reference"]
    list_filter = ["kind", ("created_at", admin.DateFieldListFilter)]
    list_select_related = ["order"]
    date_hierarchy = "created_at"
    search_fields = ["=order__id", "reference"]
    change_list_template = "admin/payments/ledgerentry/change_list.html"
    view_on_site = False

    def get_urls(self):
        export = path("export.csv", self.admin_site.admin_view(self.export_csv), name="payments_ledgerentry_export")
        onboarding = path(
            "onboarding/", self.admin_site.admin_view(self.onboarding), name="payments_ledgerentry_onboarding"
        )
        refund = path(
            "refund/<int:order_id>/", self.admin_site.admin_view(self.refund), name="payments_ledgerentry_refund"
        )
        return [export, onboarding, refund, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        shop = seller_shop(request)
        context = {**(extra_context or {}), "title": "Payments", "shop": shop}
        if shop is not None:
            context["figures"] = selectors.get_shop_payments(shop_id=shop.pk)
            context["order_nets"] = selectors.list_order_nets(shop_id=shop.pk)[:50]
        return super().changelist_view(request, context)

    def onboarding(self, request):
        """Send the seller to the provider's onboarding (Account Link) for the shop's payout account."""
        shop = self.require_seller_shop(request)
        page = request.build_absolute_uri("../")
        try:
            url = payouts.create_onboarding_link(shop=shop, refresh_url=request.build_absolute_uri(), return_url=page)
        except (PaymentError, PaymentsOpenCircuit):
            messages.error(request, "The payment provider did not answer. Try again in a minute.")
            return HttpResponseRedirect(page)
        return HttpResponseRedirect(url)

    def refund(self, request, order_id: int):
        """Refund one of the seller's orders, fully or in part (linked from the order's admin page)."""
        try:
            order = order_selectors.get_order_for_seller(seller=request.user, order_id=order_id)
        except OrderNotFound:
            raise Http404("No such order in your shop") from None
        form = RefundForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                booked = refunds.refund_order(
                    order=order, amount=form.cleaned_data["amount"], restock_items=form.cleaned_data["restock"]
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"Refunded ${booked.amount} of {order}; the buyer is emailed.")
                return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))
        context = {**self.admin_site.each_context(request), "title": f"Refund {order}", "order": order, "form": form}
        context["refundable"] = order.total + selectors.get_refunded_total(order_id=order.pk)
        return TemplateResponse(request, "admin/payments/refund.html", context)

    def export_csv(self, request):
        """Every entry of the seller's shop as CSV (superusers: every shop)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        response = HttpResponse(content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="payments.csv"'
        writer = csv.writer(response)
        writer.writerow(["created_at", "shop_id", "kind", "amount", "order_id", "reference"])
        rows = self.get_queryset(request).order_by("created_at", "id")
        for entry in rows.values_list("created_at", "shop_id", "kind", "amount", "order_id", "reference"):
            writer.writerow([entry[0].isoformat(), *entry[1:]])
        return response
