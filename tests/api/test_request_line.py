"""Every GET the API documents fits gunicorn's request line: no documented request meets a 414.

The probe: the schema allowed a 1000-character suggestions query, which percent-encoded (up to 12
bytes a character) is far past gunicorn's default request-line limit of 4094 bytes.
"""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
ENCODED_BYTES_PER_CHAR = 12  # a 4-byte UTF-8 character is sent as %XX%XX%XX%XX
_BOUNDED_QUANTIFIER = re.compile(r"\{(\d+)(?:,(\d+))?\}")


def _gunicorn_limit(monkeypatch) -> int:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "/tmp/unused")  # the config sets it otherwise
    config = runpy.run_path(str(ROOT / "etsy" / "gunicorn.conf.py"))
    return int(config.get("limit_request_line", 4094))  # gunicorn's default when the config says nothing


def _longest_value(schema: dict) -> int:
    """Upper bound of a parameter's length on the wire, from its documented schema."""
    if "enum" in schema:
        return max(len(str(value)) for value in schema["enum"])
    kind = schema.get("type")
    if kind == "integer":
        return max(len(str(schema.get("maximum", 2**63 - 1))), len(str(schema.get("minimum", -(2**63)))))
    if kind == "number":
        return 40
    if kind == "boolean":
        return len("false")
    if kind == "array":
        items = schema.get("items", {})
        assert "maxItems" in schema, f"an unbounded array: {schema}"
        return schema["maxItems"] * (_longest_value(items) + 10)
    if schema.get("format") in ("date", "date-time"):
        return 40
    if "maxLength" in schema:
        return schema["maxLength"] * ENCODED_BYTES_PER_CHAR
    pattern = schema.get("pattern")
    assert pattern, f"a string with neither maxLength nor pattern: {schema}"
    unbounded = re.search(r"(?<!\\)[*+]|\{\d+,\}", pattern)
    assert not unbounded, f"a pattern that bounds nothing: {pattern}"
    return 3 * (len(pattern) + sum(int(high or low) for low, high in _BOUNDED_QUANTIFIER.findall(pattern)))


@pytest.mark.django_db
def test_every_documented_get_fits_gunicorns_request_line(monkeypatch):
    limit = _gunicorn_limit(monkeypatch)
    schema = Client().get("/api/v1/schema?format=json").json()
    longest = {}
    for path, operations in schema["paths"].items():
        operation = operations.get("get")
        if operation is None:
            continue
        line = len("GET ") + len(" HTTP/1.1") + len(path)
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path":
                line += _longest_value(parameter["schema"])
            elif parameter["in"] == "query":
                line += len(parameter["name"]) + 2 + _longest_value(parameter["schema"])  # "&name="
        longest[path] = line
    too_long = {path: line for path, line in longest.items() if line > limit}
    assert not too_long, f"documented requests longer than gunicorn's request line ({limit}): {too_long}"
    assert longest["/api/v1/search/suggestions"] > 4094 // 2  # the bound still leaves room for real queries
