"""Tracing: OpenTelemetry spans for a request, its SQL and Redis calls, Celery tasks; trace ids in the logs."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from etsy import tracing
from tests.catalog.factories import ProductFactory

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    provider = tracing.start_tracing(processor=SimpleSpanProcessor(exporter))
    assert provider is not None
    yield exporter
    tracing.stop_tracing()
    provider.shutdown()


def test_tracing_is_off_without_an_otlp_endpoint(settings):
    settings.OTEL_EXPORTER_OTLP_ENDPOINT = ""
    assert tracing.start_tracing() is None
    assert tracing._instrumentors == []


@pytest.mark.django_db
def test_request_span_holds_sql_and_redis_spans_and_logs_carry_its_trace_id(spans, client, log_lines):
    product = ProductFactory(title="Linen apron")

    response = client.get(f"/api/v1/products/{product.pk}")
    assert response.status_code == 200

    finished = spans.get_finished_spans()
    server = [span for span in finished if span.kind == SpanKind.SERVER]
    assert len(server) == 1
    request_span = server[0]
    assert request_span.attributes["http.request_id"] == response["X-Request-ID"]
    assert request_span.attributes.get("http.route") == "api/v1/products/<int:product_id>"
    trace_id = request_span.context.trace_id
    children = [span for span in finished if span.context.trace_id == trace_id and span is not request_span]
    systems = {span.attributes.get("db.system") or span.attributes.get("db.system.name") for span in children}
    assert "postgresql" in systems
    assert "redis" in systems
    access = next(r for r in log_lines.records if r.get("logger") == "etsy.request")
    assert access["request_id"] == response["X-Request-ID"]
    assert access["trace_id"] == format(trace_id, "032x")


@pytest.mark.django_db
def test_celery_task_gets_a_span(spans):
    from cart.tasks import cleanup_expired_reservations

    cleanup_expired_reservations.delay()
    names = [span.name for span in spans.get_finished_spans()]
    assert any("cart.tasks.cleanup_expired_reservations" in name for name in names), names


def test_log_lines_outside_a_span_have_no_trace_id(log_lines):
    import logging

    logging.getLogger("tests.ops.tracing").info("no span here")
    record = log_lines.records[-1]
    assert "trace_id" not in record and record["event"] == "no span here"


def test_spans_are_exported_over_otlp_when_the_endpoint_is_set():
    """A real process with OTEL_EXPORTER_OTLP_ENDPOINT posts its spans to that collector (a local HTTP server)."""
    received: list[tuple[str, bytes]] = []

    class Collector(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append((self.path, self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        code = "from django.test import Client; print(Client().get('/api/health').status_code)"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "etsy.settings",
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{server.server_port}",
            "ALLOWED_HOSTS": "testserver",
        }
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        result = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr[-3000:]
    finally:
        server.shutdown()
    paths = {path for path, _ in received}
    assert paths == {"/v1/traces"}
    request = ExportTraceServiceRequest.FromString(b"".join(body for _, body in received[:1]))
    names = [span.name for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans]
    assert any("health" in name for name in names), names
