"""The signed-in buyer's account pages: profile (name, email, password) and the address book.

Each form posts to its own URL and, on bad input, the page is shown again with status 400 and the
errors; nothing is stored. The order history lives in orders (/orders/), linked from here.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts import selectors, throttling
from accounts.exceptions import AddressBookFull, AddressNotFound, EmailAlreadyTaken, InvalidEmailChangeLink
from accounts.forms import AddressForm, EmailChangeForm, PasswordChangeForm, ProfileForm
from accounts.services import addresses as address_services
from accounts.services import profile as profile_services
from etsy.api.throttling import AuthEndpointThrottle

THROTTLED = "Too many attempts. Please wait %(seconds)s seconds and try again."


def _profile_page(request: HttpRequest, *, status: int = 200, **forms) -> HttpResponse:
    context = {
        "profile_form": forms.get("profile_form") or ProfileForm(initial={"display_name": request.user.display_name}),
        "email_form": forms.get("email_form") or EmailChangeForm(prefix="email"),
        "password_form": forms.get("password_form") or PasswordChangeForm(prefix="password"),
        "default_address": selectors.get_default_address(owner=request.user),
    }
    return render(request, "accounts/account/profile.html", context, status=status)


def _add_errors(form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def _throttled(request: HttpRequest, form) -> int | None:
    """The sign-up/token limit per client address (API_THROTTLE_AUTH): add the error, return the wait."""
    throttle = AuthEndpointThrottle()
    if throttle.allow_request(request, None):
        return None
    seconds = int(throttle.wait() or 1)
    form.add_error(None, THROTTLED % {"seconds": seconds})
    return seconds


def _refused(response: HttpResponse, seconds: int) -> HttpResponse:
    response.status_code = 429
    response["Retry-After"] = str(seconds)
    return response


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    return _profile_page(request)


@login_required
@require_POST
def change_name(request: HttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST)
    if not form.is_valid():
        return _profile_page(request, profile_form=form, status=400)
    profile_services.update_profile(user=request.user, display_name=form.cleaned_data["display_name"])
    messages.success(request, "Your display name is saved.")
    return redirect("account:profile")


@login_required
@require_POST
def change_email(request: HttpRequest) -> HttpResponse:
    form = EmailChangeForm(request.POST, prefix="email")
    seconds = _throttled(request, form)
    if seconds:
        return _refused(_profile_page(request, email_form=form), seconds)
    if form.is_valid():
        try:
            profile_services.request_email_change(
                user=request.user,
                new_email=form.cleaned_data["new_email"],
                current_password=form.cleaned_data["current_password"],
                address=throttling.client_address(request),
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        except throttling.LoginThrottled as exc:
            form.add_error(None, throttling.LoginThrottled.default_message)
            return _refused(_profile_page(request, email_form=form), exc.retry_after)
        else:
            messages.success(
                request,
                f"We sent a link to {form.cleaned_data['new_email']}: your address changes when you open it.",
            )
            return redirect("account:profile")
    return _profile_page(request, email_form=form, status=400)


@require_http_methods(["GET", "POST"])
def confirm_email(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button (mail scanners follow links); POST applies the change."""
    try:
        if request.method == "POST":
            user = profile_services.confirm_email_change(token=token)
        else:
            user, new_email = profile_services.read_email_change(token=token)
    except (InvalidEmailChangeLink, EmailAlreadyTaken) as exc:
        return render(request, "accounts/account/email_confirm.html", {"error": exc.message}, status=400)
    if request.method == "GET":
        return render(request, "accounts/account/email_confirm.html", {"new_email": new_email, "old_email": user.email})
    messages.success(request, f"Your email address is now {user.email}.")
    return redirect("account:profile" if request.user.is_authenticated else "accounts:login")


@login_required
@require_POST
def change_password(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.POST, prefix="password")
    seconds = _throttled(request, form)
    if seconds:
        return _refused(_profile_page(request, password_form=form), seconds)
    if form.is_valid():
        try:
            user = profile_services.change_password(
                user=request.user,
                current_password=form.cleaned_data["current_password"],
                new_password=form.cleaned_data["new_password"],
                address=throttling.client_address(request),
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        except throttling.LoginThrottled as exc:
            form.add_error(None, throttling.LoginThrottled.default_message)
            return _refused(_profile_page(request, password_form=form), exc.retry_after)
        else:
            update_session_auth_hash(request, user)  # this session stays; every other one is signed out
            messages.success(request, "Your password is changed. Your other devices were signed out.")
            return redirect("account:profile")
    return _profile_page(request, password_form=form, status=400)


@login_required
def address_list(request: HttpRequest) -> HttpResponse:
    addresses = list(selectors.list_addresses(owner=request.user))
    return render(request, "accounts/account/addresses.html", {"addresses": addresses})


def _address_values(form: AddressForm) -> dict:
    return {k: v for k, v in form.cleaned_data.items() if k != "make_default"}


@login_required
@require_http_methods(["GET", "POST"])
def address_add(request: HttpRequest) -> HttpResponse:
    form = AddressForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            address_services.create_address(
                owner=request.user, make_default=form.cleaned_data["make_default"], **_address_values(form)
            )
        except AddressBookFull as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "The address is in your address book.")
            return redirect("account:addresses")
    status = 400 if form.errors else 200
    return render(request, "accounts/account/address_form.html", {"form": form, "address": None}, status=status)


def _own_address(request: HttpRequest, pk: int):
    try:
        return selectors.get_address(owner=request.user, address_id=pk)
    except AddressNotFound:
        raise Http404("No such address") from None


@login_required
@require_http_methods(["GET", "POST"])
def address_edit(request: HttpRequest, pk: int) -> HttpResponse:
    address = _own_address(request, pk)
    initial = {f: getattr(address, f) for f in address_services.ADDRESS_FIELDS} | {"make_default": address.is_default}
    form = AddressForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        address_services.update_address(
            owner=request.user,
            address_id=address.pk,
            make_default=form.cleaned_data["make_default"],
            **_address_values(form),
        )
        messages.success(request, "The address is saved.")
        return redirect("account:addresses")
    status = 400 if form.errors else 200
    return render(request, "accounts/account/address_form.html", {"form": form, "address": address}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def address_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks to confirm (works without JavaScript); POST deletes."""
    address = _own_address(request, pk)
    if request.method == "GET":
        return render(request, "accounts/account/address_delete.html", {"address": address})
    address_services.delete_address(owner=request.user, address_id=address.pk)
    messages.success(request, "The address is deleted.")
    return redirect("account:addresses")


@login_required
@require_POST
def address_make_default(request: HttpRequest, pk: int) -> HttpResponse:
    address = _own_address(request, pk)
    address_services.set_default_address(owner=request.user, address_id=address.pk)
    messages.success(request, "This is now your default shipping address.")
    return redirect("account:addresses")
