"""What a wave of page copies coming due costs: who builds them, with how many queries (``make bench-web``)."""

import pytest
from prometheus_client import REGISTRY

pytestmark = pytest.mark.django_db


def _builds(kind: str, by: str, what: str = "builds") -> float:
    name = {"builds": "etsy_page_builds_total", "queries": "etsy_page_build_queries_total"}[what]
    return REGISTRY.get_sample_value(name, {"kind": kind, "by": by}) or 0.0


def _category_shell_key():
    from django.core.cache import caches

    keys = list(caches["default"].keys("page:category:*"))
    assert len(keys) == 1
    return keys[0]


def _make_due(key):
    """Stamp the copy past its freshness (Redis still holds it, as in the grace minute)."""
    from django.core.cache import caches

    entry = caches["default"].get(key)
    caches["default"].set(key, (entry[0], entry[1], 0.0, *entry[3:]), 60)


def test_page_builds_are_counted_by_kind_and_builder_with_their_queries(client, catalog):
    from etsy.cache import aside

    built, queries = _builds("page:category", "request"), _builds("page:category", "request", "queries")
    assert client.get("/c/mugs/").status_code == 200
    assert _builds("page:category", "request") == built + 1  # a miss, built on the request
    assert _builds("page:category", "request", "queries") > queries
    _make_due(_category_shell_key())
    refreshed = _builds("page:category", "refresher")
    assert client.get("/c/mugs/").status_code == 200
    assert aside.refresher.run_pending() == 1
    assert _builds("page:category", "refresher") == refreshed + 1
    assert _builds("page:category", "request") == built + 1
