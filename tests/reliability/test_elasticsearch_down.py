"""Elasticsearch unreachable: the breaker opens after the configured failures, PostgreSQL answers
marked degraded, and a half-open trial against a (fake, loopback) Elasticsearch closes it again."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pybreaker
import pytest
from elasticsearch.dsl.connections import connections

from etsy.breakers import RateWindowListener, search_breaker
from tests.catalog.factories import ProductFactory
from tests.local_services import free_port

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


class FakeElasticsearch(BaseHTTPRequestHandler):
    """Answers every search with the ids it was given, like a one-node cluster would."""

    ids: list[int] = []
    requests: list[str] = []

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        type(self).requests.append(self.path)
        body = {
            "took": 1,
            "timed_out": False,
            "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
            "hits": {
                "total": {"value": len(self.ids), "relation": "eq"},
                "max_score": 1.0,
                "hits": [{"_index": "products", "_id": str(i), "_score": 1.0} for i in self.ids],
            },
            "aggregations": {"categories": {"buckets": []}, "price_ranges": {"buckets": {}}},
        }
        raw = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.elasticsearch+json;compatible-with=9")
        self.send_header("X-Elastic-Product", "Elasticsearch")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def es_address(settings):
    """Point search at an address of our choosing (settings and the client connection) and restore it."""
    original = settings.ELASTICSEARCH_DSL["default"]

    def point_at(url: str) -> None:
        settings.ELASTICSEARCH_URL = url
        connections.configure(default={"hosts": url, "request_timeout": 1, "max_retries": 0})

    yield point_at
    connections.configure(default=original)


def search(client, q="wallet"):
    response = client.get("/api/v1/search", {"q": q})
    assert response.status_code == 200, response.content
    return response.json()


def test_breaker_opens_on_a_dead_elasticsearch_answers_degraded_and_closes_after_recovery(
    client, es_address, monkeypatch
):
    wallet = ProductFactory(title="Leather wallet")
    monkeypatch.setattr(search_breaker, "reset_timeout", 1.0)
    listener = next(item for item in search_breaker.listeners if isinstance(item, RateWindowListener))
    es_address(f"http://127.0.0.1:{free_port()}")  # nothing listens there

    for _ in range(listener.volume_threshold):
        body = search(client)
        assert body["degraded"] is True  # PostgreSQL answered
        assert [hit["id"] for hit in body["hits"]] == [wallet.pk]
    assert search_breaker.current_state == pybreaker.STATE_OPEN

    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeElasticsearch)
    FakeElasticsearch.ids, FakeElasticsearch.requests = [wallet.pk], []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        es_address(f"http://127.0.0.1:{server.server_address[1]}")
        started = time.monotonic()
        body = search(client)  # open: Elasticsearch is not even asked
        assert body["degraded"] is True and FakeElasticsearch.requests == []
        assert time.monotonic() - started < 1.0

        time.sleep(1.1)  # past reset_timeout: the next call is the half-open trial
        body = search(client)
        assert body["degraded"] is False
        assert [hit["id"] for hit in body["hits"]] == [wallet.pk]
        assert len(FakeElasticsearch.requests) == 1 and FakeElasticsearch.requests[0].endswith("/_search")
        assert search_breaker.current_state == pybreaker.STATE_CLOSED

        body = search(client, q="leather")
        assert body["degraded"] is False and len(FakeElasticsearch.requests) == 2
    finally:
        server.shutdown()
        server.server_close()


def test_html_search_page_stays_up_with_elasticsearch_down(client, es_address):
    ProductFactory(title="Walnut bowl")
    es_address(f"http://127.0.0.1:{free_port()}")
    response = client.get("/search/", {"q": "walnut"})
    assert response.status_code == 200
    assert b"Walnut bowl" in response.content
