"""The buyer's message pages: the list (unread first), a thread, and the forms that start one.

Plain HTML forms (multipart for pictures); no JavaScript needed. A refused message re-renders the
form with its field errors (400), an exceeded limit answers 429 with Retry-After, and anybody
else's thread is a 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from etsy.exceptions import DomainError
from messaging import selectors, services
from messaging.exceptions import ConversationNotFound, RateLimited
from messaging.forms import CustomRequestForm, MessageForm, ReportForm
from messaging.models import Side
from shops.exceptions import ShopNotFound
from shops.selectors import get_shop_card


def _apply_error(form, exc: DomainError) -> None:
    fields = exc.extra.get("fields") or {}
    for name, errors in fields.items():
        for error in errors if isinstance(errors, list) else [errors]:
            form.add_error(name if name in form.fields else None, error)
    if not fields:
        form.add_error(None, exc.message)


def _refused(request, template: str, context: dict, exc: DomainError) -> HttpResponse:
    _apply_error(context["form"], exc)
    response = render(request, template, context, status=exc.status_code if exc.status_code < 500 else 400)
    if isinstance(exc, RateLimited):
        response["Retry-After"] = str(exc.retry_after)
    return response


def _thread(request, pk: int):
    try:
        return selectors.get_conversation_for_user(user=request.user, conversation_id=pk, side=Side.BUYER)
    except ConversationNotFound:
        raise Http404("No such conversation") from None


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    conversations = list(selectors.list_conversations_for_buyer(buyer=request.user)[:200])
    return render(request, "messaging/inbox.html", {"conversations": conversations})


def _thread_context(request, conversation, form=None) -> dict:
    return {
        "conversation": conversation,
        "thread_messages": list(selectors.list_messages(conversation=conversation)),
        "form": form or MessageForm(),
        "blocked": selectors.get_block_state(shop_id=conversation.shop_id, buyer_id=conversation.buyer_id),
        "report_form": ReportForm(),
    }


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A thread; opening it marks it read. POST sends a reply."""
    conversation = _thread(request, pk)
    if request.method == "POST":
        form = MessageForm(request.POST, request.FILES)
        if not form.is_valid():
            return render(request, "messaging/detail.html", _thread_context(request, conversation, form), status=400)
        try:
            services.send_message(
                user=request.user,
                conversation_id=conversation.pk,
                body=form.cleaned_data["body"],
                uploads=form.cleaned_data["images"],
                side=Side.BUYER,
            )
        except DomainError as exc:
            return _refused(request, "messaging/detail.html", _thread_context(request, conversation, form), exc)
        return redirect(conversation.get_absolute_url() + "#latest")
    if conversation.is_unread_by_buyer:
        conversation = services.mark_read(user=request.user, conversation_id=conversation.pk, side=Side.BUYER)
    return render(request, "messaging/detail.html", _thread_context(request, conversation))


def _shop_from_query(request):
    shop_id = request.POST.get("shop") or request.GET.get("shop") or ""
    if not shop_id.isascii() or not shop_id.isdigit() or len(shop_id) > 18:
        raise Http404("No such shop")
    try:
        return get_shop_card(shop_id=int(shop_id))
    except ShopNotFound:
        raise Http404("No such shop") from None


def _about(request) -> dict:
    data = request.POST if request.method == "POST" else request.GET
    return {"product_id": data.get("product") or None, "order_id": data.get("order") or None}


@login_required
def new(request: HttpRequest) -> HttpResponse:
    """Message a shop, optionally about a listing (``?product=``) or an order (``?order=``)."""
    shop = _shop_from_query(request)
    about = _about(request)
    form = MessageForm(request.POST or None, request.FILES or None)
    context = {"form": form, "shop": shop, "about": about, "custom": False}
    if request.method != "POST":
        return render(request, "messaging/new.html", context)
    if not form.is_valid():
        return render(request, "messaging/new.html", context, status=400)
    try:
        conversation = services.start_conversation(
            buyer=request.user,
            shop_id=shop.pk,
            body=form.cleaned_data["body"],
            uploads=form.cleaned_data["images"],
            **about,
        )
    except DomainError as exc:
        return _refused(request, "messaging/new.html", context, exc)
    messages.success(request, f"Your message is on its way to {shop.name}.")
    return redirect(conversation.get_absolute_url())


@login_required
def custom_request(request: HttpRequest) -> HttpResponse:
    """Ask a shop for a custom piece: what, budget, by when (``?shop=``, optionally ``&product=``)."""
    shop = _shop_from_query(request)
    about = {"product_id": _about(request)["product_id"]}
    form = CustomRequestForm(request.POST or None, request.FILES or None)
    context = {"form": form, "shop": shop, "about": about, "custom": True}
    if request.method != "POST":
        return render(request, "messaging/new.html", context)
    if not form.is_valid():
        return render(request, "messaging/new.html", context, status=400)
    data = form.cleaned_data
    try:
        conversation = services.request_custom_piece(
            buyer=request.user,
            shop_id=shop.pk,
            what=data["what"],
            budget=data["budget"],
            by_when=data["by_when"],
            uploads=data["images"],
            **about,
        )
    except DomainError as exc:
        return _refused(request, "messaging/new.html", context, exc)
    messages.success(request, f"Your request is on its way to {shop.name}.")
    return redirect(conversation.get_absolute_url())


@login_required
@require_POST
def block(request: HttpRequest, pk: int) -> HttpResponse:
    """Block the shop of this thread (``blocked=0`` unblocks)."""
    conversation = _thread(request, pk)
    blocked = request.POST.get("blocked", "1") != "0"
    services.set_blocked(user=request.user, conversation_id=conversation.pk, blocked=blocked)
    messages.success(request, f"You blocked {conversation.shop.name}." if blocked else "Unblocked.")
    return redirect(conversation.get_absolute_url())


@login_required
@require_POST
def report(request: HttpRequest, pk: int, message_id: int) -> HttpResponse:
    """Report a message of the shop to the marketplace staff."""
    conversation = _thread(request, pk)
    form = ReportForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        services.report_message(user=request.user, message_id=message_id, reason=reason)
    except ConversationNotFound:
        raise Http404("No such message") from None
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Thank you: the marketplace team will look at this message.")
    return redirect(conversation.get_absolute_url())
