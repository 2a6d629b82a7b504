"""Login throttling: slow down password guessing per account and per client address.

Failed sign-ins are counted in the default cache (Redis) under two keys, one for the
username (email, lower-cased, hashed) and one for the client address. When either count
reaches its limit, further attempts for that username or from that address are refused
until the window runs out (the cool-off), even with the right password: a guesser must
not be able to tell a right guess from a refused one. There is never a permanent
lock-out (that would let anyone lock a seller out of their shop): the counter is a Redis
key with a time-to-live, started by the first failure of the window.

A successful sign-in clears the username's counter (not the address's: one valid
account must not reset an attacker's budget for guessing others).

Counting hooks into Django's ``user_login_failed`` signal, so every caller of
``django.contrib.auth.authenticate`` is counted. Refusing is done by every sign-in entry
point before it authenticates (``check_login_allowed``): the site's login
(``ThrottledLoginView``), the admin's login (``ThrottledAdminSite``: sellers sign in
there) and the API token endpoint. All three share the counters, limits and cool-off.

Redis down: the default cache swallows errors, so counting and checking **fail open**
(sign-in keeps working, unthrottled, while Redis is away; the outage is logged). We
prefer that to locking every user out during an outage; the API's per-address rate
limits fail open the same way.

Settings (read with defaults): LOGIN_THROTTLE_USERNAME_LIMIT (5), LOGIN_THROTTLE_ADDRESS_LIMIT
(20), LOGIN_THROTTLE_COOLOFF_SECONDS (900).
"""

from __future__ import annotations

import hashlib
import logging
import math

from django.conf import settings
from django.contrib.admin import AdminSite
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import user_logged_in, user_login_failed
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.dispatch import receiver

from etsy.exceptions import DomainError

logger = logging.getLogger(__name__)

USERNAME_FIELDS = ("username", "email")


class LoginThrottled(DomainError):
    code = "login_throttled"
    status_code = 429
    default_message = "Too many failed sign-in attempts. Please wait a few minutes and try again."

    def __init__(self, *, retry_after: int):
        self.retry_after = retry_after
        super().__init__(extra={"retry_after": retry_after})


def _limits() -> tuple[int, int, int]:
    return (
        int(getattr(settings, "LOGIN_THROTTLE_USERNAME_LIMIT", 5)),
        int(getattr(settings, "LOGIN_THROTTLE_ADDRESS_LIMIT", 20)),
        int(getattr(settings, "LOGIN_THROTTLE_COOLOFF_SECONDS", 900)),
    )


def _username_key(username: str) -> str:
    digest = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    return f"login-throttle:user:{digest}"


def _address_key(address: str) -> str:
    return f"login-throttle:addr:{address}"


def client_address(request) -> str:
    """Return the client address: REMOTE_ADDR, or with ``REST_FRAMEWORK["NUM_PROXIES"]`` set (proxies in
    front), the address that many hops from the right of X-Forwarded-For (the one our own proxy saw)."""
    if request is None:
        return ""
    meta = request.META
    num_proxies = (getattr(settings, "REST_FRAMEWORK", {}) or {}).get("NUM_PROXIES")
    forwarded = meta.get("HTTP_X_FORWARDED_FOR")
    if num_proxies and forwarded:
        hops = [hop.strip() for hop in str(forwarded).split(",") if hop.strip()]
        if hops:
            return hops[-min(int(num_proxies), len(hops))]
    return str(meta.get("REMOTE_ADDR") or "")


def _keys(*, username: str, address: str) -> list[tuple[str, int]]:
    user_limit, address_limit, _ = _limits()
    keys = []
    if username:
        keys.append((_username_key(username), user_limit))
    if address:
        keys.append((_address_key(address), address_limit))
    return keys


def check_login_allowed(*, username: str, address: str) -> None:
    """Raise LoginThrottled while the username or the address is cooling off. Fails open without Redis."""
    keys = _keys(username=username or "", address=address or "")
    try:
        counts = cache.get_many([key for key, _ in keys])
        for key, limit in keys:
            if int(counts.get(key) or 0) >= limit:
                ttl = cache.ttl(key) if hasattr(cache, "ttl") else None
                retry_after = ttl if isinstance(ttl, int) and ttl > 0 else _limits()[2]
                logger.warning("sign-in refused: cooling off", extra={"event": "login_throttled"})
                raise LoginThrottled(retry_after=int(math.ceil(retry_after)))
    except LoginThrottled:
        raise
    except Exception:  # Redis away: fail open (documented above)
        logger.warning("login throttle unavailable; allowing the attempt", exc_info=True)


def record_failure(*, username: str, address: str) -> None:
    """Count one failed sign-in for the username and the address (the first failure starts the window)."""
    _, _, cooloff = _limits()
    for key, _limit in _keys(username=username or "", address=address or ""):
        try:
            cache.add(key, 0, timeout=cooloff)  # the window starts with the first failure, never extends
            cache.incr(key)
        except ValueError:  # the key expired between add and incr: start a new window
            cache.set(key, 1, timeout=cooloff)
        except Exception:  # Redis away: fail open
            logger.warning("login throttle unavailable; failure not counted", exc_info=True)


def clear_username(*, username: str) -> None:
    try:
        cache.delete(_username_key(username))
    except Exception:
        pass


def _username_from(credentials: dict) -> str:
    for name in USERNAME_FIELDS:
        if credentials.get(name):
            return str(credentials[name])
    return ""


@receiver(user_login_failed, dispatch_uid="accounts.throttling.count_failed_login")
def count_failed_login(sender, credentials, request=None, **kwargs) -> None:
    record_failure(username=_username_from(credentials or {}), address=client_address(request))


@receiver(user_logged_in, dispatch_uid="accounts.throttling.clear_on_login")
def clear_on_login(sender, request, user, **kwargs) -> None:
    clear_username(username=user.get_username())


class ThrottleCheckMixin:
    """For a login form: refuse while the username or address cools off (before any password check)."""

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        try:
            check_login_allowed(username=username, address=client_address(self.request))
        except LoginThrottled as exc:
            self.retry_after = exc.retry_after
            raise ValidationError(LoginThrottled.default_message, code="throttled") from None
        return super().clean()


class ThrottledAuthenticationForm(ThrottleCheckMixin, AuthenticationForm):
    """The site's login form (/accounts/login/)."""


class ThrottledAdminAuthenticationForm(ThrottleCheckMixin, AdminAuthenticationForm):
    """The admin's login form (/admin/login/, the sellers' sign-in): the same throttle as the site's."""


def mark_refused_login(response, form):
    """Turn a login page re-rendered for a throttled form into 429 with Retry-After."""
    retry_after = getattr(form, "retry_after", None)
    if retry_after is not None:
        response.status_code = 429
        response["Retry-After"] = str(retry_after)
    return response


class ThrottledLoginView(LoginView):
    """The HTML login; a refused attempt re-renders the form with status 429 and Retry-After."""

    authentication_form = ThrottledAuthenticationForm

    def form_invalid(self, form):
        return mark_refused_login(super().form_invalid(form), form)


class ThrottledAdminSite(AdminSite):
    """The admin site, its login throttled like the site's (installed by accounts.apps.ThrottledAdminConfig)."""

    login_form = ThrottledAdminAuthenticationForm

    def login(self, request, extra_context=None):
        response = super().login(request, extra_context)
        form = (getattr(response, "context_data", None) or {}).get("form")
        return mark_refused_login(response, form)
