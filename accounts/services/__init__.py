"""Writes of the accounts app, by capability: ``signup`` (sign-up and its links), ``profile`` (name, email
and password changes), ``addresses`` (the address book). The sign-up names are re-exported here."""

from accounts.services.profile import update_profile  # noqa: F401
from accounts.services.signup import (  # noqa: F401
    confirm_sign_up,
    get_pending_signup,
    mark_address_undeliverable,
    send_signup_attempt_notice,
    send_signup_confirmation,
    sign_up,
    signup_confirmation_path,
)
