"""Sign up, sign in, sign out and password reset (Django's auth views, our templates)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from accounts import services
from accounts.exceptions import InvalidSignUpLink
from accounts.forms import SignUpForm
from etsy.api.throttling import AuthEndpointThrottle

SIGNUP_THROTTLED = "Too many sign-ups from your network. Please wait %(seconds)s seconds and try again."


def _next_url(request: HttpRequest) -> str:
    nxt = request.POST.get("next") or request.GET.get("next") or "/"
    if url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return nxt
    return "/"


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """The same answer for a new address and a known one (accounts.services.sign_up emails either)."""
    if request.user.is_authenticated:
        return redirect("/")
    form = SignUpForm(request.POST or None)
    retry_after = None
    if request.method == "POST":
        throttle = AuthEndpointThrottle()  # the API's sign-up limit (API_THROTTLE_AUTH), per client address
        if not throttle.allow_request(request, None):
            retry_after = int(throttle.wait() or 1)
            form.add_error(None, SIGNUP_THROTTLED % {"seconds": retry_after})
        elif form.is_valid():
            try:
                services.sign_up(
                    email=form.cleaned_data["email"],
                    password=form.cleaned_data["password"],
                    display_name=form.cleaned_data["display_name"],
                    next_url=_next_url(request),
                )
            except ValidationError as exc:
                form.add_error("password", exc)
            else:
                return redirect("accounts:signup_sent")
    status = 429 if retry_after else 400 if form.errors else 200
    response = render(request, "accounts/signup.html", {"form": form, "next": _next_url(request)}, status=status)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def signup_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/signup_sent.html")


@require_http_methods(["GET", "POST"])
def signup_confirm(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """GET shows a button (mail scanners follow links); POST confirms the address and signs the owner in."""
    try:
        if request.method == "POST":
            user = services.confirm_sign_up(uidb64=uidb64, token=token)
        else:
            user = services.get_pending_signup(uidb64=uidb64, token=token)
    except InvalidSignUpLink as exc:
        return render(request, "accounts/signup_confirm.html", {"error": exc.message}, status=400)
    if request.method == "GET":
        return render(request, "accounts/signup_confirm.html", {"email": user.email, "next": _next_url(request)})
    login(request, user)  # the one configured backend (settings.AUTHENTICATION_BACKENDS)
    messages.success(request, "Welcome! Your account is ready.")
    return redirect(_next_url(request))
