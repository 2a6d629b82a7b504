"""The token in a sign-up confirmation link (Django's password-reset tokens, with their own salt).

The hash covers the account's password and its pending state, so a link dies once the account is
confirmed or when a later sign-up of the same address sets a new password; it also expires after
``PASSWORD_RESET_TIMEOUT`` (3 days).
"""

from __future__ import annotations

from django.contrib.auth.tokens import PasswordResetTokenGenerator


class SignUpTokenGenerator(PasswordResetTokenGenerator):
    key_salt = "accounts.tokens.SignUpTokenGenerator"

    def _make_hash_value(self, user, timestamp) -> str:
        return f"{user.pk}{user.password}{user.is_active}{user.is_signup_pending}{timestamp}{user.email}"


signup_token_generator = SignUpTokenGenerator()
