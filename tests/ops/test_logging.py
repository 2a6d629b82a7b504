"""Structured JSON logs: one line per request with its id, context kept, secrets never written."""

from __future__ import annotations

import json
import logging
import re

import pytest
import structlog

from etsy.logging import DIGIT_RUN_PATTERN, REDACTED, REDACTED_DIGITS, redact_secrets

pytestmark = pytest.mark.django_db

CARD = "4242424242424242"
CARD_SPACED = "4000 0000 0000 0002"
ANY_CARD_DIGITS = re.compile(r"\d(?:[ -]?\d){11,18}")


def access_lines(log_lines, request_id=None):
    return [
        r
        for r in log_lines.records
        if r.get("logger") == "etsy.request" and (request_id is None or r.get("request_id") == request_id)
    ]


def test_every_log_line_is_one_json_object(client, log_lines):
    client.get("/api/health")
    logging.getLogger("orders").info("multi\nline message")
    lines = log_lines.text.splitlines()
    assert lines
    for line in lines:
        assert isinstance(json.loads(line), dict)


def test_request_is_logged_once_with_the_request_id_from_the_header(client, log_lines):
    response = client.get("/api/health", HTTP_X_REQUEST_ID="edge-7f3a:42")
    assert response["X-Request-ID"] == "edge-7f3a:42"
    [line] = access_lines(log_lines, "edge-7f3a:42")
    assert line["event"] == "request"
    assert (line["method"], line["path"], line["status"], line["user_id"]) == ("GET", "/api/health", 200, None)
    assert isinstance(line["duration_ms"], float)
    assert line["service"] == "etsy-backend" and line["timestamp"].endswith("Z")


def test_request_id_is_generated_when_absent_and_returned(client, log_lines):
    response = client.get("/api/health")
    request_id = response["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert len(access_lines(log_lines, request_id)) == 1


@pytest.mark.parametrize(
    "supplied",
    ["x" * 129, "has space", "<script>", "", f"id-{CARD}", "ünïcode", "-leading-dash"],
)
def test_unsafe_request_ids_are_replaced(client, log_lines, supplied):
    response = client.get("/api/health", HTTP_X_REQUEST_ID=supplied)
    assert response["X-Request-ID"] != supplied
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])
    assert len(access_lines(log_lines, response["X-Request-ID"])) == 1


def test_logged_in_user_id_is_in_the_access_line(client, buyer, log_lines):
    client.force_login(buyer)
    response = client.get("/api/health")
    [line] = access_lines(log_lines, response["X-Request-ID"])
    assert line["user_id"] == buyer.pk


def test_client_errors_are_logged_once_as_warnings(client, log_lines):
    response = client.get("/no-such-page-here/")
    assert response.status_code == 404
    lines = [r for r in log_lines.records if r.get("request_id") == response["X-Request-ID"]]
    assert len(lines) == 1  # Django's own "Not Found" warning is not written twice
    assert lines[0]["level"] == "warning" and lines[0]["status"] == 404


def test_domain_events_keep_their_context_and_the_request_id(client, buyer, log_lines):
    client.force_login(buyer)
    response = client.post("/ops-test/domain-event", {"card_number": CARD})
    request_id = response["X-Request-ID"]
    [event] = [r for r in log_lines.records if r.get("event") == "checkout completed"]
    assert event["request_id"] == request_id
    assert event["user_id"] == buyer.pk
    assert event["order_ids"] == [11, 12]
    assert event["logger"] == "tests.ops.domain"
    [structured] = [r for r in log_lines.records if r.get("event") == "payment authorised"]
    assert structured["request_id"] == request_id and structured["password"] == REDACTED


def test_breaker_transition_events_keep_their_fields(log_lines):
    from etsy.breakers import RateWindowListener, reset_all, search_breaker

    def failing_search():
        raise ConnectionError("elasticsearch unreachable")

    reset_all()
    try:
        listener = next(item for item in search_breaker.listeners if isinstance(item, RateWindowListener))
        for _ in range(listener.volume_threshold):
            try:
                search_breaker.call(failing_search)
            except ConnectionError:
                pass
    finally:
        reset_all()
    transitions = [
        r
        for r in log_lines.records
        if r.get("event_type") == "breaker_transition" and r.get("extra_service") == "elasticsearch"
    ]
    [opened] = [r for r in transitions if r["to_state"] == "open"]
    closed = transitions[-1]
    assert opened["event"] == "circuit breaker state changed" and opened["level"] == "warning"
    assert (opened["extra_service"], opened["from_state"], opened["to_state"]) == ("elasticsearch", "closed", "open")
    assert (closed["from_state"], closed["to_state"]) == ("open", "closed")
    assert opened["service"] == "etsy-backend"


def test_resetting_a_closed_breaker_reports_no_transition(log_lines):
    from etsy.breakers import reset_all

    reset_all()
    reset_all()  # every breaker already closed
    assert not [r for r in log_lines.records if r.get("event_type") == "breaker_transition"]


def test_no_card_digits_reach_any_log_line(client, buyer, log_lines):
    client.force_login(buyer)
    client.post("/ops-test/domain-event", {"card_number": CARD})
    client.post("/ops-test/domain-event", {"card_number": CARD_SPACED})
    client.get(f"/products/{CARD}/", {"card": CARD_SPACED}, HTTP_X_REQUEST_ID=CARD)
    client.raise_request_exception = False
    assert client.get("/ops-test/explode", {"card": CARD}).status_code == 500
    logging.getLogger("orders").info(
        "charge for %s", CARD, extra={"payload": {"cards": [CARD_SPACED, 4000000000009999]}}
    )
    structlog.get_logger("orders").warning("declined", card="4000-0000-0000-0002", secret_key="s3cr3t")

    text = log_lines.text
    assert "Traceback" in text  # the 500 was logged with its traceback, redacted
    assert "[REDACTED-DIGITS]" in text
    assert not ANY_CARD_DIGITS.search(text), ANY_CARD_DIGITS.search(text)
    assert "s3cr3t" not in text and "hunter2" not in text


@pytest.mark.parametrize(
    "value",
    [
        "4242424242424242",
        "4000 0000 0000 0002",
        "4000-0000-0000-9999",
        "123456789012",
        "1234567890123456789",
        "order 378282246310005 paid",
    ],
)
def test_redaction_masks_any_12_to_19_digit_run(value):
    out = redact_secrets(None, "info", {"event": value, "nested": {"list": [value]}})
    assert not DIGIT_RUN_PATTERN.search(json.dumps(out))


@pytest.mark.parametrize("value", ["order 12345678901 total 25.00", "2026-11-21T19:37:17.781727Z", "id 42"])
def test_redaction_leaves_short_numbers_and_timestamps_alone(value):
    assert redact_secrets(None, "info", {"event": value})["event"] == value


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "new_password1",
        "api_key",
        "Authorization",
        "csrfmiddlewaretoken",
        "card_number",
        "cvc",
        "sessionid",
        "SECRET_KEY",
        "access_token",
    ],
)
def test_redaction_hides_values_under_secret_keys(key):
    out = redact_secrets(None, "info", {"event": "x", "data": {key: "visible?"}, key: "visible?"})
    assert out[key] == REDACTED and out["data"][key] == REDACTED


def test_generated_request_ids_survive_redaction():
    from etsy.middleware import new_request_id

    for _ in range(2000):
        request_id = new_request_id()
        assert redact_secrets(None, "info", {"request_id": request_id})["request_id"] == request_id


def test_trace_ids_survive_redaction_even_when_they_hold_a_long_digit_run():
    """A random trace id holds 12+ decimal digits in a row about once in twenty; masked, its line left its trace."""
    trace_id, span_id = "9d62a1463d1d2f2284266611399f03d5", "1234567890123abc"
    out = redact_secrets(None, "info", {"event": "x", "trace_id": trace_id, "span_id": span_id})
    assert (out["trace_id"], out["span_id"]) == (trace_id, span_id)
    # Only the ids' own form is spared: a card number under these keys, or anywhere else, is still masked.
    out = redact_secrets(None, "info", {"event": "x", "trace_id": "4242424242424242", "note": trace_id})
    assert out["trace_id"] == REDACTED_DIGITS and out["note"] != trace_id


def test_password_reset_token_in_the_url_is_not_logged(client, buyer, log_lines):
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    uid = urlsafe_base64_encode(force_bytes(buyer.pk))
    token = default_token_generator.make_token(buyer)
    response = client.get(f"/accounts/reset/{uid}/{token}/")
    assert response.status_code in (200, 302)
    [line] = access_lines(log_lines, response["X-Request-ID"])
    assert line["path"] == f"/accounts/reset/{uid}/{REDACTED}/"
    assert token not in log_lines.text


def test_a_lower_case_log_level_boots_as_gunicorn_reads_it():
    """LOG_LEVEL=warning is what gunicorn's own setting takes; Django's logging must take it too, not fail to boot."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import django, logging; django.setup(); "
        "print(logging.getLevelName(logging.getLogger('etsy').getEffectiveLevel()))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "LOG_LEVEL": "warning", "DJANGO_SETTINGS_MODULE": "etsy.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("WARNING")
