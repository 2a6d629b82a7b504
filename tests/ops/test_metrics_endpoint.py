"""GET /metrics: Prometheus text format, optional bearer token, never cached."""

import pytest

pytestmark = pytest.mark.django_db


def test_metrics_are_served_in_prometheus_text_format(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    assert "# TYPE etsy_orders_created_total counter" in response.content.decode()
    assert "django_http_requests_total_by_view_transport_method_total" in response.content.decode()


def test_metrics_require_the_bearer_token_when_one_is_configured(client, settings):
    settings.METRICS_BEARER_TOKEN = "scrape-secret-123"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Basic scrape-secret-123").status_code == 401
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret-123")
    assert response.status_code == 200 and b"etsy_cache_hits" in response.content


def test_metrics_accept_only_get(client):
    assert client.post("/metrics").status_code == 405


def test_every_request_is_counted_by_status_view_and_method_with_the_children_kept(client):
    from django_prometheus.middleware import Metrics

    def answered(status: str, method: str) -> float:
        child = Metrics.get_instance().responses_by_status_view_method.labels(
            status=status, view="health", method=method
        )
        return child._value.get()

    ok, refused = answered("200", "GET"), answered("405", "POST")
    for _ in range(3):
        assert client.get("/api/health").status_code == 200
    assert client.post("/api/health").status_code == 405
    assert answered("200", "GET") == ok + 3
    assert answered("405", "POST") == refused + 1
