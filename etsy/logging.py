"""Structured JSON logs for every process (web, worker, beat, management commands).

Django calls :func:`configure_logging` with ``settings.LOGGING`` (``LOGGING_CONFIG``
points here). It configures structlog and the standard library together, so a
``logging.getLogger(__name__).info("...", extra={...})`` call and a
``structlog.get_logger().info("...", key=value)`` call both come out as one JSON
object per line, with the request context (request id, user id) bound by
:class:`etsy.middleware.RequestLogMiddleware` and every secret redacted.

Redaction runs last, on the whole event (message, context, extra fields and the
formatted traceback): values under secret-looking keys are replaced, and any run
of 12 to 19 digits (spaces or dashes allowed between them) is masked whether or
not it passes the Luhn check, so a card number cannot reach a log line. The trace's
ids (``trace_id``, ``span_id``: exactly 32 and 16 lower-case hex digits) are left whole.
"""

from __future__ import annotations

import logging
import logging.config
import re
from collections.abc import Mapping
from typing import Any

import structlog
from opentelemetry import trace

REDACTED = "[REDACTED]"
REDACTED_DIGITS = "[REDACTED-DIGITS]"

SECRET_KEY_PATTERN = re.compile(
    r"passw(or)?d|passphrase|^pass$|^pwd$|secret|token|authori[sz]ation|api[_-]?key|cookie|session|csrf|"
    r"credential|card|cvc|cvv|security[_-]?code|signature|private[_-]?key",
    re.IGNORECASE,
)
# 12-19 digits, optionally grouped by single spaces or dashes ("4242 4242 4242 4242").
DIGIT_RUN_PATTERN = re.compile(r"(?<!\d)\d(?:[ -]?\d){11,18}(?!\d)")
# Keys whose values we write ourselves and must stay readable.
_SAFE_KEYS = frozenset({"event", "level", "logger", "timestamp", "service", "environment", "trace_id", "span_id"})


def contains_card_like_digits(text: str) -> bool:
    """Return True when ``text`` holds a run of 12-19 digits (what redaction masks)."""
    return bool(DIGIT_RUN_PATTERN.search(text))


def redact_text(text: str) -> str:
    return DIGIT_RUN_PATTERN.sub(REDACTED_DIGITS, text)


def _redact_value(value: Any, depth: int = 0) -> Any:
    if depth > 6:
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        return REDACTED_DIGITS if contains_card_like_digits(str(value)) else value
    if isinstance(value, Mapping):
        return {
            key: (REDACTED if is_secret_key(key) else _redact_value(item, depth + 1)) for key, item in value.items()
        }
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_redact_value(item, depth + 1) for item in value]
    return redact_text(str(value))


def is_secret_key(key: Any) -> bool:
    return isinstance(key, str) and key not in _SAFE_KEYS and bool(SECRET_KEY_PATTERN.search(key))


# The trace's ids as add_trace_ids writes them: 32 and 16 hex digits, random, so one in twenty or so holds a run of
# 12+ decimal digits ("…2284266611399…"); masked, the line no longer joins its trace. Anything else under these keys
# is redacted as usual.
_TRACE_ID_FORMATS = {"trace_id": re.compile(r"[0-9a-f]{32}"), "span_id": re.compile(r"[0-9a-f]{16}")}


def _is_trace_id(key: str, value: Any) -> bool:
    pattern = _TRACE_ID_FORMATS.get(key)
    return pattern is not None and isinstance(value, str) and pattern.fullmatch(value) is not None


def redact_secrets(logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: mask secret-looking keys and card-like digit runs everywhere but in the trace's ids."""
    return {
        key: value if _is_trace_id(key, value) else REDACTED if is_secret_key(key) else _redact_value(value)
        for key, value in event_dict.items()
    }


def add_service_fields(service: str, environment: str):
    def processor(logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        event_dict.setdefault("service", service)
        event_dict.setdefault("environment", environment)
        return event_dict

    return processor


_RECORD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}
_RESERVED_KEYS = frozenset(
    {"event", "level", "logger", "timestamp", "service", "environment", "request_id", "trace_id", "span_id"}
)


def add_record_extras(logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Copy a stdlib record's ``extra={...}`` fields into the event.

    ``event`` is the message in our lines, so an extra named ``event`` (an event
    type such as ``breaker_transition``) becomes ``event_type``; other clashes with
    our own fields (``service`` is the process, ``request_id`` the request) get an
    ``extra_`` prefix.
    """
    record = event_dict.get("_record")
    if record is None:
        return event_dict
    for key, value in record.__dict__.items():
        if key in _RECORD_ATTRIBUTES or key.startswith("_"):
            continue
        if key == "event":
            event_dict["event_type"] = value
        elif key in _RESERVED_KEYS:
            event_dict[f"extra_{key}"] = value
        else:
            event_dict[key] = value
    return event_dict


def _drop_color_message(logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    event_dict.pop("color_message", None)
    return event_dict


def add_trace_ids(logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Put the OpenTelemetry trace and span ids beside the request id (only inside a recorded span)."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict.setdefault("trace_id", format(context.trace_id, "032x"))
        event_dict.setdefault("span_id", format(context.span_id, "016x"))
    return event_dict


def _shared_processors(service: str, environment: str) -> list:
    return [
        structlog.contextvars.merge_contextvars,
        add_trace_ids,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_service_fields(service, environment),
    ]


def log_format(environ: Mapping[str, str]) -> str:
    """Return ``LOG_FORMAT``, by default ``json`` in production and ``console`` (readable lines) elsewhere."""
    default = "json" if environ.get("ETSY_ENV", "development") == "production" else "console"
    return environ.get("LOG_FORMAT") or default


def build_logging_config(
    *, level: str = "INFO", json: bool = True, service: str = "etsy-backend", environment: str = "development"
) -> dict[str, Any]:
    """Return the ``LOGGING`` dict: one stdout handler whose formatter is structlog's."""
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    formatter = {
        "()": structlog.stdlib.ProcessorFormatter,
        "foreign_pre_chain": [
            *_shared_processors(service, environment),
            # Keep the context passed as logging's ``extra={...}`` (e.g. breaker transitions).
            add_record_extras,
            _drop_color_message,
        ],
        "processors": [
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            redact_secrets,
            renderer,
        ],
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"structured": formatter},
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "structured", "stream": "ext://sys.stdout"}
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Our access line (etsy.request) replaces Django's per-request 4xx warnings and runserver's line.
            # Django's defaults attach their own plain-text handlers; route everything through ours.
            "django": {"handlers": [], "level": level, "propagate": True},
            "django.request": {"handlers": [], "level": "ERROR", "propagate": True},
            "django.server": {"handlers": [], "level": "ERROR", "propagate": True},
            "django.db.backends": {"handlers": [], "level": "INFO", "propagate": True},
        },
        # Read by configure_logging, not by dictConfig.
        "structlog": {"service": service, "environment": environment},
    }


def configure_logging(config: dict[str, Any] | None) -> None:
    """Apply ``settings.LOGGING`` and configure structlog to hand its events to the stdlib handlers."""
    if not config:
        return
    config = dict(config)
    meta = config.pop("structlog", {})
    logging.config.dictConfig(config)
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(meta.get("service", "etsy-backend"), meta.get("environment", "development")),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.UnicodeDecoder(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """Return a structlog logger for domain events (``logger.info("checkout completed", order_ids=[...])``)."""
    return structlog.get_logger(name)
