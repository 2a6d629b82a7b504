"""The base of every business-rule error. Knows nothing about HTTP."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A business rule refused the operation.

    ``code`` is machine-readable and stable; ``message`` is for people;
    ``extra`` carries structured context (e.g. ``reserved_until``).
    ``status_code`` is a hint for HTTP adapters only (409 unless a subclass says otherwise).
    """

    code = "conflict"
    status_code = 409
    default_message = "The request conflicts with the current state."

    def __init__(self, message: str | None = None, *, code: str | None = None, extra: dict[str, Any] | None = None):
        self.message = message or self.default_message
        if code:
            self.code = code
        self.extra = extra or {}
        super().__init__(self.message)


class NotFound(DomainError):
    code = "not_found"
    status_code = 404
    default_message = "Not found."


class ServiceUnavailable(DomainError):
    code = "service_unavailable"
    status_code = 503
    default_message = "A service we depend on is unavailable; try again shortly."
