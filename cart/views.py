"""The cart page and its buttons: add, change quantity, remove. Rules live in cart.services."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from cart import notices, rendering, selectors, services
from cart.caching import ended_holds_key, note_no_ended_holds
from cart.exceptions import AlreadyInCart
from cart.forms import AddToCartForm, QuantityForm
from catalog.exceptions import ProductNotFound
from catalog.views.buy_box import BuyerChoice, buy_box_errors, render_buy_box
from catalog.views.product import render_refused_choice
from etsy import cache
from etsy.exceptions import DomainError


def _quantity(request: HttpRequest, default: int = 1) -> int | None:
    form = QuantityForm({"quantity": request.POST.get("quantity", default)})
    return form.cleaned_data["quantity"] if form.is_valid() else None


def cart_detail(request: HttpRequest) -> HttpResponse:
    user = request.user if request.user.is_authenticated else None
    personal = [cache.unread_messages_key(user.pk), ended_holds_key(user.pk)] if user is not None else []
    summary, found = selectors.read_cart_page(
        user=user, session=request.session, extra_keys=[*rendering.layout_keys(), *personal]
    )
    for skipped in request.session.pop("cart_merge_skipped", None) or []:
        messages.warning(request, skipped.get("message") or "An item from your guest cart is no longer available.")
    ended = []
    if user is not None and cache.is_enabled() and ended_holds_key(user.pk) not in found:
        note_no_ended_holds(user_id=user.pk)
    if user is not None:
        ended = notices.take_cart_notices(
            user=user, flagged=bool(found.get(ended_holds_key(user.pk))) if cache.is_enabled() else None
        )
    unread_key = personal[0] if personal else None
    return HttpResponse(rendering.render_cart_page(request, summary, ended, found=found, unread_key=unread_key))


@require_POST
def add(request: HttpRequest, pk: int) -> HttpResponse:
    """Add the chosen offering of listing ``pk`` (fields: ``cart.forms.AddToCartForm``); with htmx, answer with
    the refreshed buy box instead of a redirect. A refusal (no such choice, sold out, personalisation missing
    or too long) shows the listing's page again (400; the buy box with htmx) with the buyer's choices and text
    kept and the reason beside the field to fix."""
    data = request.POST.copy()
    data.setdefault("quantity", "1")  # a one-of-a-kind piece's form has no quantity field
    form = AddToCartForm(data)
    refused: dict[str, str] = {}
    notice = "Added to your cart."
    if not form.is_valid():
        refused = _form_errors(form)
    elif form.cleaned_data["product"] not in (None, pk):
        refused = {"choice_error": "That choice belongs to another item."}
    else:
        choice = {
            "product_id": pk,
            "offering_id": form.cleaned_data["offering"],
            "option_ids": form.cleaned_data["options"],
            "quantity": form.cleaned_data["quantity"],
            "personalization": form.cleaned_data["personalization"],
        }
        try:
            if request.user.is_authenticated:
                services.add_item(user=request.user, **choice)
            else:
                services.add_guest_item(session=request.session, **choice)
        except ProductNotFound:
            raise Http404("No such listing") from None
        except AlreadyInCart as exc:
            notice = exc.message
        except DomainError as exc:
            refused = buy_box_errors(exc)
    if refused:
        kept = BuyerChoice.from_data(request.POST)
        if getattr(request, "htmx", False):
            return HttpResponse(render_buy_box(request, pk, choice=kept, **refused))
        return render_refused_choice(request, pk, choice=kept, errors=refused)
    if getattr(request, "htmx", False):
        return HttpResponse(render_buy_box(request, pk, notice=notice))
    messages.success(request, notice)
    return redirect("cart:detail")


def _form_errors(form: AddToCartForm) -> dict[str, str]:
    if "quantity" in form.errors:
        return {"error": "Choose a quantity of at least 1."}
    if "personalization" in form.errors:
        return {"personalization_error": "Your personalisation text is too long."}
    return {"choice_error": "Choose from the options shown."}


@require_POST
def update(request: HttpRequest, pk: int) -> HttpResponse:
    """Change the quantity of cart line ``pk`` (a guest line's own number)."""
    quantity = _quantity(request)
    if quantity is None:
        messages.error(request, "Quantity must be a whole number.")
        return redirect("cart:detail")
    try:
        if request.user.is_authenticated:
            services.set_quantity(user=request.user, line_id=pk, quantity=quantity)
        else:
            services.set_guest_quantity(session=request.session, line_id=pk, quantity=quantity)
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("cart:detail")


@require_POST
def remove(request: HttpRequest, pk: int) -> HttpResponse:
    """Remove cart line ``pk`` (a guest line's own number)."""
    if request.user.is_authenticated:
        services.remove_item(user=request.user, line_id=pk)
    else:
        services.remove_guest_item(session=request.session, line_id=pk)
    messages.success(request, "Removed from your cart.")
    return redirect("cart:detail")
