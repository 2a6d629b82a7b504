"""Readable log lines for a newcomer's `make run`, one JSON object per line in production (issue 19, item 18)."""

import runpy
from pathlib import Path

import pytest

from etsy.logging import log_format

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "console"),
        ({"ETSY_ENV": "development"}, "console"),
        ({"ETSY_ENV": "production"}, "json"),
        ({"ETSY_ENV": "development", "LOG_FORMAT": "json"}, "json"),
        ({"ETSY_ENV": "production", "LOG_FORMAT": "console"}, "console"),
    ],
)
def test_log_format_is_console_in_development_and_json_in_production(environ, expected):
    assert log_format(environ) == expected


def test_gunicorn_logs_readable_lines_in_development_and_json_in_production(monkeypatch):
    for name in ("LOG_FORMAT", "ETSY_ENV", "PROMETHEUS_MULTIPROC_DIR"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    assert "logconfig_dict" not in runpy.run_path(str(ROOT / "etsy" / "gunicorn.conf.py"))
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    monkeypatch.setenv("ETSY_ENV", "production")
    config = runpy.run_path(str(ROOT / "etsy" / "gunicorn.conf.py"))
    assert "json" in config["logconfig_dict"]["formatters"]
