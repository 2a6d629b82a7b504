"""Checkout, confirmation, order history and detail, reviews. Rules live in the services."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import DatabaseError, InterfaceError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts import selectors as account_selectors
from cart.exceptions import CartChanged
from cart.selectors import get_cart_summary
from etsy import idempotency
from etsy.exceptions import DomainError
from orders import extensions, payments, timeline
from orders.exceptions import CardDataNotAccepted, CartTotalChanged, ItemUnavailable, PaymentDeclined
from orders.forms import CancellationRequestForm, CheckoutForm, ReviewForm
from orders.services import address_book
from orders.services import checkout as checkout_service

IN_PROGRESS_POLLS = 50
IN_PROGRESS_POLL_SECONDS = 0.1
TYPED_ADDRESS_SESSION_KEY = "checkout_address"  # what the buyer typed, kept across a declined card
ADDRESS_FIELDS = (
    "ship_name",
    "ship_line1",
    "ship_line2",
    "ship_city",
    "ship_region",
    "ship_postcode",
    "ship_country",
)


def _checkout_page(request, form, summary, *, removed=None, changed=False, status=200) -> HttpResponse:
    """The checkout page; its form carries the version of the cart it shows (checked at submit)."""
    context = {"form": form, "cart": summary, "removed": removed or [], "cart_changed": changed}
    if settings.USES_STRIPE:  # the Payment Element needs the amount to show the right payment methods
        context |= {
            "stripe_js_url": settings.STRIPE_JS_URL,
            "stripe_publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
            "amount_cents": int(summary.total * 100),
            "currency": "usd",
        }
    return render(request, "orders/checkout.html", context, status=status)


def _see_other(stored, *, replayed: bool = False) -> HttpResponse:
    """Answer a checkout POST with its stored redirect (303), the same for the first click and any repeat."""
    response = HttpResponseRedirect(stored.headers["Location"])
    response.status_code = stored.status
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response


def _saved_addresses(request: HttpRequest) -> list:
    return list(account_selectors.list_addresses(owner=request.user))


def _with_fresh_token(post, addresses=()) -> CheckoutForm:
    data = post.copy()
    data["token"] = idempotency.new_form_token()  # the next attempt is a new order set
    form = CheckoutForm(data, addresses=addresses)
    form.is_valid()
    return form


def _shipping_address(request: HttpRequest, form: CheckoutForm):
    """The saved address the buyer picked, or the one typed. Raises AddressNotFound (deleted meanwhile)."""
    if form.saved_address_id is not None:
        return address_book.get_shipping_address(buyer=request.user, address_id=form.saved_address_id)
    data = form.cleaned_data
    return checkout_service.ShippingAddress(
        name=data["ship_name"],
        line1=data["ship_line1"],
        line2=data["ship_line2"],
        city=data["ship_city"],
        region=data["ship_region"],
        postcode=data["ship_postcode"],
        country=data["ship_country"],
    )


def _wait_for_first_submit(*, scope: str, key: str, fingerprint: str):
    """A second click while the first is being placed: wait for it and answer with its response."""
    for _ in range(IN_PROGRESS_POLLS):
        time.sleep(IN_PROGRESS_POLL_SECONDS)
        try:
            att = idempotency.begin(scope=scope, key=key, fingerprint=fingerprint)
        except idempotency.IdempotencyRequestInProgress:
            continue
        if att.replay is not None:
            return _see_other(att.replay, replayed=True)
        att.release()  # the first attempt failed and gave the key up: nothing was placed
        return None
    return None


@login_required
def checkout(request: HttpRequest) -> HttpResponse:
    summary = get_cart_summary(user=request.user)
    if request.method != "POST":
        if summary.is_empty:
            messages.info(request, "Your cart is empty.")
            return redirect("cart:detail")
        typed = request.session.pop(TYPED_ADDRESS_SESSION_KEY, None) or {}
        initial = {
            "ship_name": request.user.display_name,
            "ship_country": "US",
            **{k: v for k, v in typed.items() if k in ADDRESS_FIELDS},
            "token": idempotency.new_form_token(),
        }
        form = CheckoutForm(initial=initial, addresses=_saved_addresses(request))
        if typed.get("ship_line1") and "address_choice" in form.fields:  # a declined card after a typed address
            form.initial["address_choice"] = CheckoutForm.NEW_ADDRESS
        return _checkout_page(request, form, summary)

    addresses = _saved_addresses(request)
    if payments.has_card_data(request.POST.dict()):  # card details belong in the provider's element, never here
        form = _with_fresh_token(request.POST, addresses)
        form.add_error(None, CardDataNotAccepted.default_message)
        return _checkout_page(request, form, summary, status=400)
    form = CheckoutForm(request.POST, addresses=addresses)
    if not form.is_valid():
        return _checkout_page(request, form, summary, status=400)
    data = form.cleaned_data
    try:
        key = idempotency.parse_key(data["token"])
        address = _shipping_address(request, form)
    except DomainError:
        return _checkout_page(request, _with_fresh_token(request.POST, addresses), summary, status=400)
    payload = {k: v for k, v in data.items() if k != "token"}
    expected_version = (request.POST.get("cart_version") or "").strip()[:64] or None
    scope = idempotency.user_scope(request.user)
    fingerprint = checkout_service.fingerprint_checkout(buyer=request.user, payload=payload)
    try:
        with idempotency.attempt(scope=scope, key=key, fingerprint=fingerprint) as att:
            if att.replay is not None:
                return _see_other(att.replay, replayed=True)
            try:
                result = checkout_service.place_order(
                    buyer=request.user,
                    address=address,
                    payment_method=data["payment_method"],
                    idempotency_key=key,
                    expected_version=expected_version,
                )
            except PaymentDeclined as exc:  # orders were created and cancelled: keep this answer for a replay
                placed = False
                request.session[TYPED_ADDRESS_SESSION_KEY] = {k: data[k] for k in ADDRESS_FIELDS}
                messages.error(request, f"{exc.message} Your cart and the address you typed are as you left them.")
                url = reverse("orders:checkout")
            else:
                placed = True
                if data["save_address"] and form.saved_address_id is None:
                    address_book.save_to_address_book(buyer=request.user, address=address.validated())
                name = "orders:authenticate" if result.payment_status == "requires_action" else "orders:confirmation"
                url = reverse(name, kwargs={"checkout_id": result.checkout.pk})
            # The cart is empty (or restored) now: the answer is stored once, under both states, so a second
            # submit of this same form replays it whenever it arrives. A placed checkout took every line: no read.
            att.also_matches(
                checkout_service.fingerprint_checkout(buyer=request.user, payload=payload, cart_emptied=placed)
            )
            stored = att.complete(status=303, body=b"", content_type="text/plain", headers={"Location": url})
            return _see_other(stored)
    except idempotency.IdempotencyRequestInProgress:
        replay = _wait_for_first_submit(scope=scope, key=key, fingerprint=fingerprint)
        if replay is not None:
            return replay
        messages.info(request, "Your order is still being placed. It will appear here in a moment.")
        return redirect("orders:history")
    except idempotency.IdempotencyKeyReused:
        form = _with_fresh_token(request.POST, addresses)
        form.add_error(None, "This form was already used for a different order. Check the details and try again.")
        return _checkout_page(request, form, summary, status=422)
    except (DatabaseError, InterfaceError):
        # The service already retried once; the same form (same token) finishes what was started.
        messages.error(
            request,
            "We lost contact with our database while placing your order. Press “Place order” again: "
            "it finishes the same order and never charges twice.",
        )
        return _checkout_page(
            request, CheckoutForm(request.POST, addresses=addresses), get_cart_summary(user=request.user), status=503
        )
    except (CartChanged, CartTotalChanged):
        # Another tab or device changed the cart after this page was shown: show it as it is now.
        summary = get_cart_summary(user=request.user)
        if summary.is_empty:
            messages.error(request, "Your cart changed and is now empty. Nothing was charged.")
            return redirect("cart:detail")
        return _checkout_page(request, _with_fresh_token(request.POST, addresses), summary, changed=True, status=409)
    except ItemUnavailable as exc:
        # The service took the sold lines out of the cart: say which, and offer the rest in one click.
        products = exc.extra.get("products") or []
        summary = get_cart_summary(user=request.user)
        if summary.is_empty:
            names = ", ".join(p["title"] for p in products)
            messages.error(request, f"Sorry — {names} just sold, and your cart is now empty.")
            return redirect("cart:detail")
        return _checkout_page(
            request, _with_fresh_token(request.POST, addresses), summary, removed=products, status=409
        )
    except DomainError as exc:
        form = _with_fresh_token(request.POST, addresses)
        form.add_error(None, exc.message)
        for field, message in ((exc.extra or {}).get("fields") or {}).items():
            form.add_error(None, f"{field.replace('_', ' ').capitalize()}: {message}")
        return _checkout_page(
            request, form, get_cart_summary(user=request.user), status=getattr(exc, "status_code", 409)
        )


@login_required
def confirmation(request: HttpRequest, checkout_id) -> HttpResponse:
    from orders.selectors import list_orders_for_buyer

    orders = list(list_orders_for_buyer(buyer=request.user).filter(checkout_id=checkout_id))
    if not orders:
        raise Http404("No such checkout")
    return render(request, "orders/confirmation.html", {"orders": orders, "checkout": orders[0].checkout})


@login_required
def authenticate(request: HttpRequest, checkout_id) -> HttpResponse:
    """The "complete authentication" step of a payment that needs 3-D Secure.

    GET shows it (Stripe.js runs the bank's challenge and comes back here with ``payment_intent``);
    the return, or the test provider's button (POST), settles the checkout and shows the outcome.
    """
    from orders.selectors import list_orders_for_buyer

    if not list_orders_for_buyer(buyer=request.user).filter(checkout_id=checkout_id).exists():
        raise Http404("No such checkout")
    returned = request.method == "POST" or "payment_intent" in request.GET
    if returned:
        status = checkout_service.finish_authenticated_checkout(
            buyer=request.user, checkout_id=checkout_id, test_authenticate=request.method == "POST"
        )
        if status == "missing":
            raise Http404("No such checkout")
        if status == "paid":
            return redirect("orders:confirmation", checkout_id=checkout_id)
        if status != "requires_action":
            messages.error(request, "The payment was not authenticated, so nothing was charged.")
            return redirect("orders:history")
    charge = checkout_service.get_payment_for_authentication(buyer=request.user, checkout_id=checkout_id)
    if charge is None:
        return redirect("orders:confirmation", checkout_id=checkout_id)
    context = {
        "checkout_id": checkout_id,
        "client_secret": charge.client_secret,
        "uses_stripe": settings.USES_STRIPE,
        "stripe_js_url": settings.STRIPE_JS_URL if settings.USES_STRIPE else "",
        "stripe_publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        "return_url": request.build_absolute_uri(request.path),
    }
    return render(request, "orders/authenticate.html", context)


ORDERS_PER_PAGE = 20
HISTORY_FILTERS = [
    ("", "All"),
    ("open", "Open"),
    ("shipped", "Shipped"),
    ("delivered", "Delivered"),
    ("cancelled", "Cancelled"),
]


@login_required
def history(request: HttpRequest) -> HttpResponse:
    """The buyer's orders, newest first, by state (``?state=open|shipped|delivered|cancelled``), 20 a page."""
    from orders.selectors import BUYER_ORDER_FILTERS, list_orders_for_buyer

    state = request.GET.get("state", "")
    context = {"filters": HISTORY_FILTERS, "state": state}
    if state and state not in BUYER_ORDER_FILTERS:
        context |= {"orders": [], "error": "There is no such filter: pick one of the filters above."}
        return render(request, "orders/history.html", context, status=400)
    page = Paginator(list_orders_for_buyer(buyer=request.user, state=state or None), ORDERS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    orders = list(page.object_list)
    refunded = extensions.get_refunded_amounts(order_ids=[order.pk for order in orders])
    for order in orders:
        order.refunded_amount = refunded.get(order.pk)
    return render(request, "orders/history.html", context | {"orders": orders, "page": page})


def _get_order(request: HttpRequest, pk: int):
    from orders.selectors import get_order_history_for_buyer

    try:
        return get_order_history_for_buyer(buyer=request.user, order_id=pk)
    except DomainError:
        raise Http404("No such order") from None


def _detail_page(request, order, *, review_form=None, cancellation_form=None, status=200) -> HttpResponse:
    review = getattr(order, "review", None) if hasattr(order, "review") else None
    refunded = (
        extensions.get_refunded_amount(order_id=order.pk) if order.paid_at or order.status == "cancelled" else None
    )
    if review_form is None:
        initial = {"rating": review.rating, "comment": review.comment} if review else None
        review_form = ReviewForm(initial=initial)
    request_ = getattr(order, "cancellation_request", None) if hasattr(order, "cancellation_request") else None
    context = {
        "order": order,
        "review": review,
        "review_form": review_form,
        "review_window": order.review_window,
        "review_window_closed": order.review_window is not None and timezone.now() >= order.review_window.closes_at,
        "review_blocked": order.can_be_reviewed and extensions.is_review_blocked(order_id=order.pk),
        "cancellation_request": request_,
        "cancellation_form": cancellation_form or CancellationRequestForm(),
        "timeline": timeline.build_timeline(order=order, refunded=refunded),
        "status_line": timeline.status_line(order=order, refunded=refunded),
        "case_section": extensions.order_case_section(order=order, user=request.user),
    }
    return render(request, "orders/detail.html", context, status=status)


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail_page(request, _get_order(request, pk))


@login_required
@require_POST
def review(request: HttpRequest, pk: int) -> HttpResponse:
    """Leave the review, or edit it when there is one (the same form, inside the review window)."""
    from orders.services.reviews import edit_review, leave_review

    order = _get_order(request, pk)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, order, review_form=form, status=400)
    editing = hasattr(order, "review")
    try:
        (edit_review if editing else leave_review)(
            buyer=request.user,
            order_id=order.pk,
            rating=form.cleaned_data["rating"],
            comment=form.cleaned_data["comment"],
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, "Your review is updated." if editing else "Thank you! Your review is on the shop's page."
        )
    return redirect(reverse("orders:detail", args=[order.pk]) + "#review")


@login_required
@require_POST
def received(request: HttpRequest, pk: int) -> HttpResponse:
    from orders.services.fulfilment import confirm_received

    order = _get_order(request, pk)
    try:
        confirm_received(buyer=request.user, order_id=order.pk)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Thanks for letting us know it arrived. How was it? Leave a review below.")
    return redirect(reverse("orders:detail", args=[order.pk]))


@login_required
@require_POST
def request_cancellation(request: HttpRequest, pk: int) -> HttpResponse:
    from orders.services.cancellations import request_cancellation as request_it

    order = _get_order(request, pk)
    form = CancellationRequestForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, order, cancellation_form=form, status=400)
    try:
        request_it(buyer=request.user, order_id=order.pk, reason=form.cleaned_data["reason"])
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Your request is with the shop. We'll email you their answer.")
    return redirect(reverse("orders:detail", args=[order.pk]))
