"""Throttles whose rates are read from settings on each request (DRF's stock classes
freeze the rate table at import, which also makes them impossible to retune in tests).
State lives in the default cache."""

from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle


class _RatesFromSettings:
    @property
    def THROTTLE_RATES(self):  # noqa: N802 - the attribute name DRF reads
        return api_settings.DEFAULT_THROTTLE_RATES


class AnonThrottle(_RatesFromSettings, AnonRateThrottle):
    pass


class UserThrottle(_RatesFromSettings, UserRateThrottle):
    pass


class AuthEndpointThrottle(_RatesFromSettings, SimpleRateThrottle):
    """Stricter limit for sign-up and token requests, per client address, signed in or not."""

    scope = "auth"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
