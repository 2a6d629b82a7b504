"""Checkout, confirmation, order history and detail, reviews. Rules live in the services."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from etsy.exceptions import DomainError
from orders.forms import CheckoutForm, ReviewForm


def _new_form_token(request: HttpRequest) -> str:
    """A one-time token for this checkout form: a double submit carries the same token, so one order set."""
    try:
        from etsy import idempotency

        issue = getattr(idempotency, "issue_form_token", None)
        if issue is not None:
            return issue(user=request.user)
    except ImportError:
        pass
    return uuid.uuid4().hex


def _idempotency_key(request: HttpRequest, token: str) -> str:
    try:
        from etsy import idempotency

        key_for = getattr(idempotency, "form_token_key", None)
        if key_for is not None:
            return key_for(user=request.user, token=token)
    except ImportError:
        pass
    return f"web:{request.user.pk}:{token}"[:64]


def _checkout_page(request, form, summary, *, removed=None, status=200) -> HttpResponse:
    return render(request, "orders/checkout.html", {"form": form, "cart": summary, "removed": removed or []}, status=status)


@login_required
def checkout(request: HttpRequest) -> HttpResponse:
    from cart.selectors import get_cart_summary
    from cart.services import remove_items
    from orders.services import checkout as checkout_service

    summary = get_cart_summary(user=request.user)
    if request.method != "POST":
        if summary.is_empty:
            messages.info(request, "Your cart is empty.")
            return redirect("cart:detail")
        initial = {"token": _new_form_token(request), "ship_name": request.user.display_name, "ship_country": "US"}
        return _checkout_page(request, CheckoutForm(initial=initial), summary)

    form = CheckoutForm(request.POST)
    if not form.is_valid():
        return _checkout_page(request, form, summary, status=400)
    data = form.cleaned_data
    address = checkout_service.ShippingAddress(
        name=data["ship_name"], line1=data["ship_line1"], line2=data["ship_line2"], city=data["ship_city"],
        postcode=data["ship_postcode"], country=data["ship_country"],
    )
    try:
        result = checkout_service.place_order(
            buyer=request.user, address=address, card_number=data["card_number"],
            idempotency_key=_idempotency_key(request, data["token"]),
        )
    except DomainError as exc:
        products = (exc.extra or {}).get("products") or []
        fresh = request.POST.copy()
        fresh["token"] = _new_form_token(request)  # the next attempt is a new order set
        if products:
            # The item sold a moment ago: take it out and offer to place the rest in one click.
            remove_items(user=request.user, product_ids=[p["id"] for p in products])
            summary = get_cart_summary(user=request.user)
            if summary.is_empty:
                messages.error(request, f"Sorry — {', '.join(p['title'] for p in products)} just sold, and your cart is now empty.")
                return redirect("cart:detail")
            return _checkout_page(request, CheckoutForm(fresh), summary, removed=products, status=409)
        form = CheckoutForm(fresh)
        form.is_valid()
        form.add_error(None, exc.message)
        return _checkout_page(request, form, summary, status=getattr(exc, "status_code", 409))
    return redirect("orders:confirmation", checkout_id=result.checkout.pk)


@login_required
def confirmation(request: HttpRequest, checkout_id) -> HttpResponse:
    from orders.selectors import list_orders_for_buyer

    orders = list(list_orders_for_buyer(buyer=request.user).filter(checkout_id=checkout_id))
    if not orders:
        raise Http404("No such checkout")
    return render(request, "orders/confirmation.html", {"orders": orders, "checkout": orders[0].checkout})


@login_required
def history(request: HttpRequest) -> HttpResponse:
    from orders.selectors import list_orders_for_buyer

    return render(request, "orders/history.html", {"orders": list_orders_for_buyer(buyer=request.user)})


def _get_order(request: HttpRequest, pk: int):
    from orders.selectors import get_order_for_buyer

    try:
        return get_order_for_buyer(buyer=request.user, order_id=pk)
    except DomainError:
        raise Http404("No such order") from None


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = _get_order(request, pk)
    review = getattr(order, "review", None) if hasattr(order, "review") else None
    return render(request, "orders/detail.html", {"order": order, "review": review, "review_form": ReviewForm()})


@login_required
@require_POST
def review(request: HttpRequest, pk: int) -> HttpResponse:
    from orders.services.reviews import leave_review

    order = _get_order(request, pk)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        return render(request, "orders/detail.html", {"order": order, "review": None, "review_form": form}, status=400)
    try:
        leave_review(buyer=request.user, order_id=order.pk, rating=form.cleaned_data["rating"], comment=form.cleaned_data["comment"])
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Thank you! Your review is on the shop's page.")
    return redirect(reverse("orders:detail", args=[order.pk]))
