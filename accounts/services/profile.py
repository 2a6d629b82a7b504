"""The signed-in buyer's profile: display name, email change with confirmation, password change.

An email change is confirmed by a signed link mailed to the new address (``django.core.signing``, salted,
``EMAIL_CHANGE_MAX_AGE_SECONDS``, 3 days by default); the change is applied only when it is opened and
only while the account still has the address it was asked from (so a link works once). The old address is
told at once. Wrong current passwords count as failed sign-ins (accounts.throttling): guessing a password
through these forms is throttled like the login.
"""

from __future__ import annotations

import logging
import smtplib
from functools import partial

from django.conf import settings
from django.contrib.auth import password_validation
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from rest_framework.authtoken.models import Token

from accounts import throttling
from accounts.exceptions import EmailAlreadyTaken, InvalidEmailChangeLink
from accounts.models import User
from etsy.emails import send_templated_email
from etsy.names import collapse_spaces

logger = logging.getLogger(__name__)

EMAIL_CHANGE_SALT = "accounts.email-change"


def update_profile(*, user: User, display_name: str) -> User:
    """Change what the marketplace calls the user (shown on reviews and orders)."""
    user.display_name = collapse_spaces(display_name)
    user.save(update_fields=["display_name"])
    return user


def check_current_password(*, user: User, password: str, address: str) -> None:
    """Raise ValidationError on ``current_password`` unless it is right; LoginThrottled while cooling off.

    A wrong password counts as a failed sign-in of the account and the client address.
    """
    throttling.check_login_allowed(username=user.email, address=address)
    if not user.check_password(password or ""):
        throttling.record_failure(username=user.email, address=address)
        raise ValidationError({"current_password": ["Your current password is not right."]})


def _max_age() -> int:
    return settings.EMAIL_CHANGE_MAX_AGE_SECONDS


def email_change_token(*, user: User, new_email: str) -> str:
    return signing.dumps({"u": user.pk, "old": user.email, "new": new_email}, salt=EMAIL_CHANGE_SALT, compress=True)


def request_email_change(*, user: User, new_email: str, current_password: str, address: str = "") -> None:
    """Mail a confirmation link to ``new_email`` and tell the current address; change nothing yet.

    Raises ValidationError (wrong password, same address), LoginThrottled. Whether the new address already
    has an account is not said here (only its owner learns it, from the link): no account enumeration.
    Emails after commit.
    """
    new_email = User.objects.normalize_email(new_email).strip().lower()
    check_current_password(user=user, password=current_password, address=address)
    if new_email == user.email.lower():
        raise ValidationError({"new_email": ["This is already your email address."]})
    transaction.on_commit(partial(_send_email_change_mails, user_id=user.pk, new_email=new_email))


def _mask(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:2]}{'*' * max(1, len(local) - 2)}@{domain}"


def _send_email_change_mails(*, user_id: int, new_email: str) -> None:
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return
    token = email_change_token(user=user, new_email=new_email)
    link = settings.SITE_URL + reverse("account:email_confirm", kwargs={"token": token})
    context = {"user": user, "old_email": user.email, "new_email": new_email, "link": link}
    notice = {
        **context,
        "new_email_masked": _mask(new_email),
        "password_link": settings.SITE_URL + reverse("accounts:password_reset"),
    }
    try:  # the request is answered the same whether or not a mail server is up: logged, not shown
        send_templated_email(template="account_email_change_confirm", to=[new_email], context=context)
        send_templated_email(template="account_email_change_notice", to=[user.email], context=notice)
    except (smtplib.SMTPException, OSError):
        logger.exception("email-change mail not sent", extra={"event": "email_change_mail_failed"})


def read_email_change(*, token: str) -> tuple[User, str]:
    """Return the account and the new address a confirmation link names. Raises InvalidEmailChangeLink."""
    try:
        data = signing.loads(token, salt=EMAIL_CHANGE_SALT, max_age=_max_age())
    except signing.BadSignature:
        raise InvalidEmailChangeLink() from None
    user = User.objects.filter(pk=data.get("u"), is_active=True).first()
    if user is None or user.email != data.get("old"):
        raise InvalidEmailChangeLink()
    return user, str(data["new"])


@transaction.atomic
def confirm_email_change(*, token: str) -> User:
    """Apply the change a confirmation link names (once). Raises InvalidEmailChangeLink, EmailAlreadyTaken."""
    user, new_email = read_email_change(token=token)
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.email != signing.loads(token, salt=EMAIL_CHANGE_SALT, max_age=_max_age())["old"]:
        raise InvalidEmailChangeLink()  # a concurrent click applied it first
    if User.objects.filter(email__iexact=new_email).exclude(pk=user.pk).exists():
        raise EmailAlreadyTaken()
    user.email = new_email
    try:
        with transaction.atomic():
            user.save(update_fields=["email"])
    except IntegrityError:  # taken between the check and the write
        raise EmailAlreadyTaken() from None
    logger.info("email address changed", extra={"event": "email_changed", "user_id": user.pk})
    return user


@transaction.atomic
def change_password(*, user: User, current_password: str, new_password: str, address: str = "") -> User:
    """Set a new password after checking the current one; other sessions die with the old password's hash.

    Raises ValidationError (wrong current password, weak new one), LoginThrottled. The caller keeps its own
    session (``update_session_auth_hash``). Tells the owner by email after commit.
    """
    check_current_password(user=user, password=current_password, address=address)
    try:
        password_validation.validate_password(new_password, user)
    except ValidationError as exc:
        raise ValidationError({"new_password": exc.messages}) from None
    user.set_password(new_password)
    user.save(update_fields=["password"])
    transaction.on_commit(partial(_send_password_changed, user_id=user.pk))
    return user


def issue_api_token(*, user: User) -> str:
    """The account's API token (one per account, shared by its clients), created when it has none."""
    token, _ = Token.objects.get_or_create(user=user)
    return token.key


def revoke_api_tokens(*, user_id: int) -> int:
    """Delete the account's API token (every client using it must sign in again); return how many went.

    The delete signals drop every web process's kept copy of the token (accounts.receivers).
    """
    deleted, _ = Token.objects.filter(user_id=user_id).delete()
    return deleted


def _send_password_changed(*, user_id: int) -> None:
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return
    context = {"user": user, "reset_link": settings.SITE_URL + reverse("accounts:password_reset")}
    try:
        send_templated_email(template="account_password_changed", to=[user.email], context=context)
    except (smtplib.SMTPException, OSError):
        logger.exception("password-changed mail not sent", extra={"event": "password_changed_mail_failed"})
