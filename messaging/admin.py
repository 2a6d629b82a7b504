"""Conversations in the seller's admin (scoped to their shop; superusers see all) and the staff's report queue.

Opening a thread marks it read for its shop owner. The change form shows the thread (every text escaped)
and takes a reply with pictures, or a listing reserved for the buyer (a custom order); actions mark
threads read, archive them, and block or unblock their buyers. Replies and offers go through
``messaging.services``.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html, format_html_join, linebreaks
from django.utils.safestring import mark_safe

from catalog.models import Category
from etsy.admin_permissions import MarketplaceAdminOnly, is_marketplace_admin
from etsy.exceptions import DomainError
from messaging import selectors, services
from messaging.exceptions import ConversationNotFound
from messaging.forms import ImagesField
from messaging.models import MAX_BODY_LENGTH, Block, Conversation, Report, Side
from shops.admin_scoping import ShopScopedAdmin, scope_to_shop, seller_shop


class ConversationAdminForm(forms.ModelForm):
    reply = forms.CharField(
        label="Reply", required=False, max_length=MAX_BODY_LENGTH, widget=forms.Textarea(attrs={"rows": 4})
    )
    reply_images = ImagesField(label="Pictures (up to 3)", required=False)
    offer_title = forms.CharField(
        label="Reserved listing: title",
        required=False,
        max_length=200,
        help_text="Answer a custom request with a listing only this buyer can see and buy.",
    )
    offer_price = forms.DecimalField(label="Price", required=False, min_value=0, max_digits=10, decimal_places=2)
    offer_category = forms.ModelChoiceField(
        label="Category",
        required=False,
        queryset=Category.objects.all(),
        help_text="Defaults to the asked-about listing's.",
    )
    offer_description = forms.CharField(label="Description", required=False, widget=forms.Textarea(attrs={"rows": 3}))

    class Meta:
        model = Conversation
        fields: list[str] = []

    def clean(self):
        data = super().clean()
        if data.get("offer_title") and data.get("offer_price") is None:
            self.add_error("offer_price", "Give the reserved listing a price.")
        return data


def _render_message(message) -> str:
    who = message.conversation.shop.name if message.side == Side.SELLER else message.conversation.buyer.public_name
    parts = [format_html("<p><strong>{}</strong> · {}</p>", who, message.created_at.strftime("%b %d, %H:%M"))]
    if message.kind == message.Kind.CUSTOM_REQUEST:
        details = message.details or {}
        parts.append(
            format_html(
                "<p><strong>Custom order request</strong></p>{}<p>Budget: {} · Needed by: {}</p>",
                mark_safe(linebreaks(details.get("what", ""), autoescape=True)),
                details.get("budget") or "not given",
                details.get("by_when") or "no date given",
            )
        )
    else:
        parts.append(mark_safe(linebreaks(message.body, autoescape=True)))
    if message.product_id and message.kind == message.Kind.RESERVED_LISTING:
        parts.append(
            format_html(
                "<p>Reserved listing: <strong>{}</strong> · ${}</p>", message.product.title, message.product.price
            )
        )
    images = list(message.images.all())
    if images:
        parts.append(
            format_html_join(
                "",
                '<a href="{}"><img src="{}" alt="picture" width="120"></a> ',
                ((i.image.url, (i.thumbnail or i.image).url) for i in images),
            )
        )
    return format_html(
        '<div class="message message-{}" style="margin-bottom:1em">{}</div>', message.side, mark_safe("".join(parts))
    )


class UnreadFilter(admin.SimpleListFilter):
    title = "read state"
    parameter_name = "unread"

    def lookups(self, request, model_admin):
        return [("1", "Unread"), ("0", "Read")]

    def queryset(self, request, queryset):
        if self.value() in ("0", "1"):
            return queryset.filter(is_unread_by_shop=self.value() == "1")
        return queryset


@admin.register(Conversation)
class ConversationAdmin(ShopScopedAdmin):
    form = ConversationAdminForm
    shop_path = "shop"
    list_display = ["subject", "buyer_name", "kind", "unread", "last_message_at", "is_archived_by_seller"]
    list_filter = [UnreadFilter, "is_archived_by_seller", "kind"]
    list_select_related = ["buyer", "shop"]
    search_fields = ["subject", "buyer__email", "buyer__display_name"]
    actions = ["mark_read", "archive", "unarchive", "block_buyer", "unblock_buyer"]
    readonly_fields = ["buyer_name", "about", "thread"]
    fieldsets = [
        (None, {"fields": ["buyer_name", "about", "thread"]}),
        ("Reply", {"fields": ["reply", "reply_images"]}),
        ("Custom order", {"fields": ["offer_title", "offer_price", "offer_category", "offer_description"]}),
    ]
    view_on_site = False  # the public thread page is the buyer's

    # Sellers reach their shop's threads without model permissions of their own: the queryset is the scope.
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

    def has_add_permission(self, request):
        return False  # buyers start threads

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        # Annotated before ordering (ModelAdmin.get_queryset would order by the annotation before it exists).
        queryset = selectors.with_seller_unread(Conversation.objects.all())
        return scope_to_shop(queryset, request, self.shop_path).order_by(*self.get_ordering(request))

    def get_ordering(self, request):
        return ["-is_unread_by_shop", "-last_message_at", "-id"]  # unread first

    def get_list_display(self, request):
        if is_marketplace_admin(request):
            return [*self.list_display[:2], "shop", *self.list_display[2:]]
        return self.list_display

    def get_list_filter(self, request):
        if is_marketplace_admin(request):
            return [*self.list_filter, "shop"]
        return self.list_filter

    @admin.display(description="Buyer", ordering="buyer__email")
    def buyer_name(self, obj):
        return obj.buyer.public_name

    @admin.display(description="Unread", boolean=True, ordering="is_unread_by_shop")
    def unread(self, obj):
        return obj.is_unread_by_seller

    @admin.display(description="About")
    def about(self, obj):
        if obj.order_id:
            url = reverse("admin:orders_order_change", args=[obj.order_id])
            return format_html('<a href="{}">Order #{}</a>', url, obj.order_id)
        if obj.product_id:
            return format_html("Listing: {}", obj.product.title)
        return "-"

    @admin.display(description="Messages")
    def thread(self, obj):
        rows = obj.messages.select_related("conversation__shop", "conversation__buyer", "product").prefetch_related(
            "images"
        )
        return mark_safe("".join(_render_message(m) for m in rows)) or "-"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET":
            try:  # the shop owner opening the thread has read it (a superuser looking on has not)
                services.mark_read(user=request.user, conversation_id=object_id, side=Side.SELLER)
            except ConversationNotFound:
                pass
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            if data.get("reply") or data.get("reply_images"):
                services.send_message(
                    user=request.user,
                    conversation_id=obj.pk,
                    body=data.get("reply") or "",
                    uploads=data.get("reply_images") or [],
                    side=Side.SELLER,
                )
            if data.get("offer_title"):
                services.offer_reserved_listing(
                    seller=request.user,
                    conversation_id=obj.pk,
                    title=data["offer_title"],
                    price=data["offer_price"],
                    category=data.get("offer_category"),
                    description=data.get("offer_description") or "",
                )
        except ConversationNotFound:
            messages.error(request, "Only the shop's owner can answer this conversation.")
        except DomainError as exc:
            messages.error(request, exc.message)

    def save_related(self, request, form, formsets, change):
        pass  # nothing of the conversation itself is edited here

    def _each(self, request, queryset, action, done: str, **kwargs):
        count = 0
        for conversation in queryset:
            try:
                action(conversation_id=conversation.pk, **kwargs)
                count += 1
            except DomainError as exc:
                messages.error(request, f"{conversation}: {exc.message}")
        if count:
            messages.success(request, f"{count} conversation(s) {done}.")

    @admin.action(description="Mark as read")
    def mark_read(self, request, queryset):
        self._each(request, queryset, services.mark_read, "marked read", user=request.user, side=Side.SELLER)

    @admin.action(description="Archive")
    def archive(self, request, queryset):
        self._each(request, queryset, services.set_archived, "archived", seller=request.user, archived=True)

    @admin.action(description="Bring back from the archive")
    def unarchive(self, request, queryset):
        self._each(request, queryset, services.set_archived, "brought back", seller=request.user, archived=False)

    @admin.action(description="Block these buyers from messaging the shop")
    def block_buyer(self, request, queryset):
        self._each(
            request,
            queryset.filter(shop__owner=request.user),
            services.set_blocked,
            "blocked",
            user=request.user,
            blocked=True,
        )

    @admin.action(description="Unblock these buyers")
    def unblock_buyer(self, request, queryset):
        self._each(
            request,
            queryset.filter(shop__owner=request.user),
            services.set_blocked,
            "unblocked",
            user=request.user,
            blocked=False,
        )


@admin.register(Report)
class ReportAdmin(MarketplaceAdminOnly):
    """The staff's queue of reported messages (superusers only), unresolved first."""

    list_display = ["created_at", "reporter", "shop", "message_text", "reason", "resolved_at"]
    list_filter = [("resolved_at", admin.EmptyFieldListFilter)]
    list_select_related = ["reporter", "message__conversation__shop"]
    readonly_fields = ["message", "reporter", "reason", "created_at", "resolved_at", "message_text", "thread_link"]
    actions = ["resolve"]

    @admin.display(description="Shop")
    def shop(self, obj):
        return obj.message.conversation.shop

    @admin.display(description="Message")
    def message_text(self, obj):
        return obj.message.body[:200]

    @admin.display(description="Thread")
    def thread_link(self, obj):
        url = reverse("admin:messaging_conversation_change", args=[obj.message.conversation_id])
        return format_html('<a href="{}">{}</a>', url, obj.message.conversation.subject)

    @admin.action(description="Mark resolved")
    def resolve(self, request, queryset):
        count = services.resolve_reports(report_ids=queryset.values_list("pk", flat=True))
        messages.success(request, f"{count} report(s) resolved.")


@admin.register(Block)
class BlockAdmin(MarketplaceAdminOnly):
    list_display = ["created_at", "shop", "buyer", "blocked_by"]
    list_select_related = ["shop", "buyer"]
