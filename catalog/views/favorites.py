"""The buyer's favorites page and the buttons that save or remove a listing or a shop."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from catalog import selectors
from catalog.services import favorites as favorite_services
from catalog.shells import render_personal
from etsy.exceptions import DomainError


@login_required
def favorites(request: HttpRequest) -> HttpResponse:
    rows = list(selectors.list_favorites(user=request.user))
    return render(
        request,
        "catalog/favorites.html",
        {"products": [f.product for f in rows if f.product_id], "shops": [f.shop for f in rows if f.shop_id]},
    )


def _safe_next(request: HttpRequest, fallback: str) -> str:
    from django.utils.http import url_has_allowed_host_and_scheme

    nxt = request.POST.get("next") or request.META.get("HTTP_REFERER") or ""
    if nxt and url_has_allowed_host_and_scheme(
        nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return nxt
    return fallback


def _set_favorite(request: HttpRequest, *, button: str, target: dict, login_next: str, noun: str) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect(f"{reverse('accounts:login')}?next={login_next}")
    try:
        is_favorite = favorite_services.set_favorite(
            user=request.user, favorite=request.POST.get("action") != "remove", **target
        )
    except DomainError:
        raise Http404(f"No such {noun}") from None
    if getattr(request, "htmx", False):
        context = {next(iter(target)): next(iter(target.values())), "is_favorite": is_favorite}
        return HttpResponse(render_personal(request, button, context))
    what = "Shop" if noun == "shop" else "Listing"
    messages.success(request, f"{what} {'saved to' if is_favorite else 'removed from'} your favorites.")
    return redirect(_safe_next(request, reverse("catalog:favorites")))


@require_POST
def toggle_favorite_product(request: HttpRequest, pk: int) -> HttpResponse:
    login_next = reverse("catalog:product_short", args=[pk])
    return _set_favorite(
        request, button="favorite_button", target={"product_id": pk}, login_next=login_next, noun="listing"
    )


@require_POST
def toggle_favorite_shop(request: HttpRequest, pk: int) -> HttpResponse:
    return _set_favorite(
        request, button="favorite_shop_button", target={"shop_id": pk}, login_next=_safe_next(request, "/"), noun="shop"
    )
