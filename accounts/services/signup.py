from __future__ import annotations

import logging
import smtplib
from functools import partial
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from accounts.exceptions import InvalidSignUpLink
from accounts.models import UndeliverableAddress, User
from accounts.tokens import signup_token_generator
from etsy.emails import send_templated_email
from etsy.names import collapse_spaces

logger = logging.getLogger(__name__)


@transaction.atomic
def sign_up(*, email: str, password: str, display_name: str = "", next_url: str = "/") -> None:
    """Start a sign-up; the caller's answer must be the same whether or not the address has an account.

    A new address gets a pending (inactive) account and an email with the link that confirms it. An
    address still pending gets the new password and name and a fresh link (the old one dies). An address
    with an account is left as it is, and its owner is told that someone tried to sign up, with a link
    to reset the password (a deactivated account is told nothing). Raises django ValidationError for a
    weak password, checked before the address is looked up. Emails after commit (a mail server that
    fails is logged, not shown).
    """
    email = User.objects.normalize_email(email).lower()
    display_name = collapse_spaces(display_name)
    validate_password(password, User(email=email, display_name=display_name))
    hashed = make_password(password)  # paid whichever way it goes: the time taken tells nothing
    existing = User.objects.select_for_update().filter(email__iexact=email).first()
    if existing is None:
        user = User(email=email, display_name=display_name, password=hashed, is_active=False, is_signup_pending=True)
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:  # a concurrent sign-up of the same address: that one sends the link
            return
        transaction.on_commit(partial(send_signup_confirmation, user_id=user.pk, next_url=next_url))
    elif existing.is_signup_pending:
        existing.password = hashed
        existing.display_name = display_name
        existing.save(update_fields=["password", "display_name"])
        transaction.on_commit(partial(send_signup_confirmation, user_id=existing.pk, next_url=next_url))
    elif existing.is_active:
        transaction.on_commit(partial(send_signup_attempt_notice, user_id=existing.pk))


def signup_confirmation_path(user: User, *, next_url: str = "/") -> str:
    path = reverse(
        "accounts:signup_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": signup_token_generator.make_token(user),
        },
    )
    return f"{path}?{urlencode({'next': next_url})}" if next_url and next_url != "/" else path


def send_signup_confirmation(*, user_id: int, next_url: str = "/") -> None:
    """Email the link that confirms a pending sign-up."""
    user = User.objects.filter(pk=user_id, is_signup_pending=True).first()
    if user is None:
        return
    link = settings.SITE_URL + signup_confirmation_path(user, next_url=next_url)
    _send_or_log("account_signup_confirm", {"email": user.email, "link": link}, user.email)


def send_signup_attempt_notice(*, user_id: int) -> None:
    """Tell an account's owner that someone tried to sign up with their address, with a password-reset link."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return
    path = reverse(
        "accounts:password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    context = {
        "email": user.email,
        "reset_link": settings.SITE_URL + path,
        "login_link": settings.SITE_URL + "/accounts/login/",
    }
    _send_or_log("account_signup_existing", context, user.email)


def _send_or_log(template: str, context: dict, to: str) -> None:
    # Runs after the sign-up committed: a mail server that fails is logged, never shown (the answer
    # must be the same for every address; signing up again sends a new message).
    try:
        send_templated_email(template=template, to=[to], context=context)
    except (smtplib.SMTPException, OSError):
        logger.exception("sign-up email not sent", extra={"event": "signup_email_failed"})


def get_pending_signup(*, uidb64: str, token: str) -> User:
    """Return the pending account a confirmation link names. Raises InvalidSignUpLink."""
    try:
        user_id = int(urlsafe_base64_decode(uidb64).decode())
    except (TypeError, ValueError, OverflowError, UnicodeDecodeError):
        raise InvalidSignUpLink() from None
    user = User.objects.filter(pk=user_id, is_signup_pending=True).first()
    if user is None or not signup_token_generator.check_token(user, token):
        raise InvalidSignUpLink()
    return user


@transaction.atomic
def confirm_sign_up(*, uidb64: str, token: str) -> User:
    """Activate the pending account a confirmation link names. Raises InvalidSignUpLink."""
    user = get_pending_signup(uidb64=uidb64, token=token)
    user.is_active = True
    user.is_signup_pending = False
    user.save(update_fields=["is_active", "is_signup_pending"])
    return user


def mark_address_undeliverable(
    *, email: str, reason: str, provider: str = "", detail: str = ""
) -> UndeliverableAddress:
    """Record that mail to ``email`` bounced or was reported as spam; accounts.mail skips it from now on."""
    address, _ = UndeliverableAddress.objects.update_or_create(
        email=email.strip().lower(), defaults={"reason": reason, "provider": provider, "detail": detail[:500]}
    )
    return address
