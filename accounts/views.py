"""Sign up, sign in, sign out and password reset (Django's auth views, our templates)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.exceptions import EmailTaken
from accounts.forms import SignUpForm
from accounts.services import register_user


def _next_url(request: HttpRequest) -> str:
    nxt = request.POST.get("next") or request.GET.get("next") or "/"
    if url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return nxt
    return "/"


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("/")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = register_user(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                display_name=form.cleaned_data["display_name"],
            )
        except EmailTaken as exc:
            form.add_error("email", exc.message)
        except ValidationError as exc:
            form.add_error("password", exc)
        else:
            login(request, user)  # the one configured backend (settings.AUTHENTICATION_BACKENDS)
            messages.success(request, "Welcome! Your account is ready.")
            return redirect(_next_url(request))
    return render(
        request, "accounts/signup.html", {"form": form, "next": _next_url(request)}, status=400 if form.errors else 200
    )
