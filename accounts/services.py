from django.contrib.auth.password_validation import validate_password
from django.db import IntegrityError, transaction

from accounts.exceptions import EmailTaken
from accounts.models import UndeliverableAddress, User


@transaction.atomic
def register_user(*, email: str, password: str, display_name: str = "") -> User:
    """Create a buyer account. Raises EmailTaken; django ValidationError for a weak password."""
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(email__iexact=email).exists():
        raise EmailTaken()
    user = User(email=email, display_name=display_name.strip())
    validate_password(password, user)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:  # a concurrent sign-up with the same address
        raise EmailTaken() from exc
    return user


def update_profile(*, user: User, display_name: str) -> User:
    """Change what the marketplace calls the user (shown on reviews and orders)."""
    user.display_name = display_name.strip()
    user.save(update_fields=["display_name"])
    return user


def mark_address_undeliverable(
    *, email: str, reason: str, provider: str = "", detail: str = ""
) -> UndeliverableAddress:
    """Record that mail to ``email`` bounced or was reported as spam; accounts.mail skips it from now on."""
    address, _ = UndeliverableAddress.objects.update_or_create(
        email=email.strip().lower(), defaults={"reason": reason, "provider": provider, "detail": detail[:500]}
    )
    return address
