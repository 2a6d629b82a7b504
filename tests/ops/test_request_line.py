"""gunicorn (etsy/gunicorn.conf.py) accepts the longest query the API documents: no 414."""

from __future__ import annotations

import json
import urllib.parse

import pytest

from etsy.api.fields import MAX_QUERY_TEXT_LENGTH

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_longest_documented_suggestions_query_is_answered_not_refused_by_gunicorn(gunicorn_server):
    longest = urllib.parse.quote("😀" * MAX_QUERY_TEXT_LENGTH)  # 12 bytes a character on the wire
    assert len(longest) > 4094  # past gunicorn's default request line
    status, _, body = gunicorn_server.get(f"/api/v1/search/suggestions?q={longest}")
    assert status == 200, body[:300]
    status, _, body = gunicorn_server.get(f"/api/v1/search/suggestions?q={longest}%F0%9F%98%80")
    assert status == 400 and json.loads(body)["error"]["code"] == "invalid"  # one more: the API's own answer
