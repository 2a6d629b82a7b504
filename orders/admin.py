from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from etsy.admin_permissions import MarketplaceAdminOnly
from etsy.admin_refusals import DomainRefusalAsMessage
from etsy.exceptions import DomainError
from orders import stats
from orders.models import CancellationRequest, Checkout, Order, OrderItem, Review
from orders.services import cancellations, reviews
from shops.admin_scoping import ShopScopedAdmin, ShopScopedMixin, is_marketplace_admin, seller_shop
from shops.selectors_seller import get_shop_for_admin


def _fulfilment():
    # Imported when used: the fulfilment services belong to the checkout area.
    from orders.services import fulfilment

    return fulfilment


class OrderItemInline(ShopScopedMixin, admin.TabularInline):
    model = OrderItem
    shop_path = "order__shop"
    fields = [
        "title_at_purchase",
        "options_at_purchase",
        "sku_at_purchase",
        "personalization",
        "price_at_purchase",
        "quantity",
        "line_total",
        "product",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False

    @admin.display(description="Line total")
    def line_total(self, obj):
        return obj.line_total

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class TrackingForm(forms.Form):
    tracking_number = forms.RegexField(
        regex=r"^[A-Za-z0-9][A-Za-z0-9 \-]{3,99}$",
        max_length=100,
        strip=True,
        error_messages={"invalid": "Enter the carrier's tracking number (letters, digits, spaces, dashes)."},
    )


@admin.register(Order)
class OrderAdmin(ShopScopedAdmin):
    list_display = [
        "__str__",
        "created_at",
        "buyer_name",
        "status",
        "total",
        "tracking_number",
        "estimated_delivery",
        "cancellation",
    ]
    list_filter = ["status", "cancellation_request__status", ("created_at", admin.DateFieldListFilter)]
    list_select_related = ["buyer", "shop", "cancellation_request"]
    date_hierarchy = "created_at"
    search_fields = ["=id", "tracking_number", "buyer__email", "checkout__ship_name"]
    inlines = [OrderItemInline]
    actions = ["mark_shipped", "cancel_and_restock", "accept_cancellations", "decline_cancellations"]
    fields = [
        "status",
        "buyer_name",
        "shipping_address",
        "subtotal",
        "shipping",
        "total",
        "tracking_number",
        "estimated_delivery",
        "cancellation",
        "messages_link",
        "created_at",
        "paid_at",
        "shipped_at",
        "delivered_at",
        "delivered_via",
        "cancelled_at",
    ]
    readonly_fields = fields
    change_form_template = "admin/orders/order/change_form.html"
    view_on_site = False  # the public order page is the buyer's

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Every field is read-only: orders change through "Mark shipped" and "Cancel and restock".
        extra_context = {**(extra_context or {}), "show_save": False, "show_save_and_continue": False}
        return super().change_view(request, object_id, form_url, extra_context)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("buyer", "shop", "checkout", "cancellation_request")

    def get_list_display(self, request):
        if is_marketplace_admin(request):
            return [*self.list_display[:3], "shop", *self.list_display[3:]]
        return self.list_display

    def get_list_filter(self, request):
        if is_marketplace_admin(request):
            return [*self.list_filter, "shop"]
        return self.list_filter

    def get_actions(self, request):
        """A list filtered to one status offers only the actions that status allows."""
        actions = super().get_actions(request)
        status = request.GET.get("status__exact")
        if status in Order.Status.values:
            probe = Order(status=status)
            if not probe.can_be_shipped:
                actions.pop("mark_shipped", None)
            if not probe.can_be_cancelled:
                actions.pop("cancel_and_restock", None)
        return actions

    @admin.display(description="Buyer", ordering="buyer__email")
    def buyer_name(self, obj):
        return f"{obj.buyer.public_name} <{obj.buyer.email}>"

    @admin.display(description="Cancellation request", ordering="cancellation_request__status")
    def cancellation(self, obj):
        request = getattr(obj, "cancellation_request", None) if hasattr(obj, "cancellation_request") else None
        if request is None:
            return "—"
        if request.status == CancellationRequest.Status.PENDING:
            return format_html(
                '<strong>Requested: decide</strong> <a href="{}">Accept or decline</a>',
                reverse("admin:orders_order_cancellation", args=[obj.pk]),
            )
        if request.accepted_on_timeout:
            return "Accepted (unanswered in time)"
        return request.get_status_display()

    @admin.display(description="Messages")
    def messages_link(self, obj):
        # By URL name: messaging sits above orders and is not imported here.
        url = reverse("admin:messaging_conversation_changelist") + f"?order__id__exact={obj.pk}"
        return format_html('<a href="{}">Conversations about this order</a>', url)

    @admin.display(description="Ship to")
    def shipping_address(self, obj):
        c = obj.checkout
        lines = [c.ship_name, c.ship_line1, c.ship_line2, f"{c.ship_postcode} {c.ship_city}", c.ship_country]
        return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in lines if line))

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return is_marketplace_admin(request) and super().has_delete_permission(request, obj)

    # --- fulfilment ---
    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("dashboard/", wrap(self.dashboard_view), name="orders_sales_dashboard"),
            path("<path:object_id>/ship/", wrap(self.ship_view), name="orders_order_ship"),
            path("<path:object_id>/cancel/", wrap(self.cancel_view), name="orders_order_cancel"),
            path("<path:object_id>/cancellation/", wrap(self.cancellation_view), name="orders_order_cancellation"),
            path("<path:object_id>/packing-slip/", wrap(self.packing_slip_view), name="orders_order_packing_slip"),
        ] + super().get_urls()

    def packing_slip_view(self, request, object_id):
        """What to put in the parcel: each line's options, SKU and the buyer's text, and where it goes."""
        order = self.get_object(request, object_id)  # scoped to the seller's shop: another's is missing
        if order is None:
            raise Http404("No such order.")
        if not self.has_view_permission(request, order):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": f"Packing slip: {order}",
            "opts": self.model._meta,
            "original": order,
            "items": order.items.all(),
            "address": self.shipping_address(order),
        }
        return TemplateResponse(request, "admin/orders/order/packing_slip.html", context)

    def dashboard_view(self, request):
        """Sales figures of the seller's own shop (superusers pick a shop with ?shop=<id>)."""
        shop = seller_shop(request)
        if is_marketplace_admin(request) and request.GET.get("shop", "").isdigit():
            shop = get_shop_for_admin(shop_id=int(request.GET["shop"]))
        if shop is None:
            raise PermissionDenied("Only a shop owner has a sales dashboard.")
        figures = stats.get_shop_stats(shop=shop)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Sales of {shop.name}",
            "shop": shop,
            "stats": figures,
            "charts": stats.render_shop_charts(figures),
        }
        return TemplateResponse(request, "admin/orders/dashboard.html", context)

    def _order_or_404(self, request, object_id) -> Order:
        order = self.get_object(request, object_id)
        if order is None:
            raise Http404("No such order.")
        if not self.has_change_permission(request, order):
            raise PermissionDenied
        return order

    def _change_url(self, order):
        return reverse("admin:orders_order_change", args=[order.pk])

    def _refuse_unless(self, request, order, allowed: bool, action: str):
        """The state does not allow the action (a stale link): say so on the order's page, change nothing."""
        if allowed:
            return None
        self.message_user(
            request, f"A {order.get_status_display().lower()} order cannot be {action}.", messages.WARNING
        )
        return HttpResponseRedirect(self._change_url(order))

    def ship_view(self, request, object_id):
        order = self._order_or_404(request, object_id)
        refused = self._refuse_unless(
            request, order, order.can_be_shipped or order.status == Order.Status.SHIPPED, "shipped"
        )
        if refused is not None:
            return refused
        form = TrackingForm(request.POST or None, initial={"tracking_number": order.tracking_number})
        if request.method == "POST" and form.is_valid():
            try:
                _fulfilment().mark_shipped(order=order, tracking_number=form.cleaned_data["tracking_number"])
            except DomainError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(request, f"{order} marked shipped; the buyer is being emailed.", messages.SUCCESS)
            return HttpResponseRedirect(self._change_url(order))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Ship {order}",
            "opts": self.model._meta,
            "original": order,
            "form": form,
        }
        return TemplateResponse(request, "admin/orders/order/ship.html", context, status=400 if form.errors else 200)

    def cancel_view(self, request, object_id):
        order = self._order_or_404(request, object_id)
        refused = self._refuse_unless(request, order, order.can_be_cancelled, "cancelled")
        if refused is not None:
            return refused
        if request.method == "POST":
            try:
                _fulfilment().cancel_order(order=order)
            except DomainError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(request, f"{order} cancelled; its items are back in stock.", messages.SUCCESS)
            return HttpResponseRedirect(self._change_url(order))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Cancel {order}",
            "opts": self.model._meta,
            "original": order,
        }
        return TemplateResponse(request, "admin/orders/order/cancel.html", context)

    def cancellation_view(self, request, object_id):
        """The buyer's cancellation request: its reason, and accept or decline (POST ``decision``)."""
        order = self._order_or_404(request, object_id)
        pending = CancellationRequest.objects.filter(order=order, status=CancellationRequest.Status.PENDING).first()
        if pending is None:
            self.message_user(request, f"{order} has no cancellation request waiting.", messages.WARNING)
            return HttpResponseRedirect(self._change_url(order))
        decision = request.POST.get("decision")
        if request.method == "POST" and decision in (cancellations.ACCEPT, cancellations.DECLINE):
            try:
                cancellations.decide_cancellation(order=order, decision=decision)
            except DomainError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                done = "cancelled and refunded in full" if decision == cancellations.ACCEPT else "goes on"
                self.message_user(request, f"{order} {done}; the buyer is being emailed.", messages.SUCCESS)
            return HttpResponseRedirect(self._change_url(order))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Cancellation request for {order}",
            "opts": self.model._meta,
            "original": order,
            "request_": pending,
        }
        return TemplateResponse(request, "admin/orders/order/cancellation.html", context)

    def _decide_all(self, request, queryset, decision: str) -> None:
        done, refused = 0, []
        for order in queryset.filter(cancellation_request__status=CancellationRequest.Status.PENDING).order_by("pk"):
            try:
                cancellations.decide_cancellation(order=order, decision=decision)
                done += 1
            except DomainError as exc:
                refused.append(f"{order}: {exc.message}")
        if not done and not refused:
            self.message_user(
                request, "None of the selected orders has a cancellation request waiting.", messages.WARNING
            )
        elif done:
            verb = "accepted (refunded in full, restocked)" if decision == cancellations.ACCEPT else "declined"
            self.message_user(
                request, f"{done} cancellation request(s) {verb}; buyers are being emailed.", messages.SUCCESS
            )
        for line in refused:
            self.message_user(request, line, messages.WARNING)

    @admin.action(
        description="Accept the buyers' cancellation requests (refund in full, restock)", permissions=["change"]
    )
    def accept_cancellations(self, request, queryset):
        self._decide_all(request, queryset, cancellations.ACCEPT)

    @admin.action(description="Decline the buyers' cancellation requests", permissions=["change"])
    def decline_cancellations(self, request, queryset):
        self._decide_all(request, queryset, cancellations.DECLINE)

    @admin.action(description="Mark selected paid orders shipped (enter tracking numbers)", permissions=["change"])
    def mark_shipped(self, request, queryset):
        orders = list(queryset.filter(status=Order.Status.PAID).select_related("checkout").order_by("pk"))
        if not orders:
            self.message_user(request, "None of the selected orders is waiting to be shipped.", messages.WARNING)
            return None
        rows = []
        for order in orders:
            form = TrackingForm({"tracking_number": request.POST.get(f"tracking_{order.pk}", "")})
            rows.append((order, form))
        if "apply" in request.POST and all(form.is_valid() for _, form in rows):
            done = 0
            for order, form in rows:
                try:
                    _fulfilment().mark_shipped(order=order, tracking_number=form.cleaned_data["tracking_number"])
                    done += 1
                except DomainError as exc:
                    self.message_user(request, f"{order}: {exc.message}", messages.WARNING)
            self.message_user(
                request, f"{done} order(s) marked shipped; the buyers are being emailed.", messages.SUCCESS
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Mark orders shipped",
            "opts": self.model._meta,
            "rows": [(order, form if "apply" in request.POST else None) for order, form in rows],
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        status = 400 if "apply" in request.POST else 200
        return TemplateResponse(request, "admin/orders/order/ship_bulk.html", context, status=status)

    @admin.action(description="Cancel selected orders and restock", permissions=["change"])
    def cancel_and_restock(self, request, queryset):
        done, refused = 0, []
        for order in queryset:
            try:
                _fulfilment().cancel_order(order=order)
                done += 1
            except DomainError as exc:
                refused.append(f"{order}: {exc.message}")
        if done:
            self.message_user(request, f"{done} order(s) cancelled and restocked.", messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.WARNING)


@admin.register(Review)
class ReviewAdmin(DomainRefusalAsMessage, ShopScopedAdmin):
    list_display = ["__str__", "rating", "reviewer", "created_at", "has_reply"]
    list_filter = ["rating"]
    list_select_related = ["reviewer", "shop", "order"]
    search_fields = ["comment", "seller_reply"]
    fields = ["order", "reviewer", "rating", "comment", "created_at", "seller_reply", "replied_at"]

    def get_readonly_fields(self, request, obj=None):
        return ["order", "reviewer", "rating", "comment", "created_at", "replied_at"]

    @admin.display(boolean=True, description="Replied")
    def has_reply(self, obj):
        return bool(obj.seller_reply)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return is_marketplace_admin(request) and super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        owner = obj.shop.owner
        if not is_marketplace_admin(request) and owner.pk != request.user.pk:
            raise PermissionDenied
        # A refusal (DomainError) leaves the admin's transaction: DomainRefusalAsMessage says why.
        reviews.reply_to_review(seller=owner, review_id=obj.pk, reply=form.cleaned_data.get("seller_reply", ""))


@admin.register(Checkout)
class CheckoutAdmin(MarketplaceAdminOnly):
    list_display = ["id", "buyer", "total", "payment_status", "created_at"]
    list_filter = ["payment_status"]
    search_fields = ["=id", "buyer__email", "provider_charge_id"]
