"""OpenTelemetry tracing: spans for requests, SQL, Redis, Celery tasks and outgoing HTTP, exported over OTLP.

Off unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (settings, "Tracing"); the exporter reads the
standard ``OTEL_EXPORTER_OTLP_*`` variables itself (headers, protocol, timeout). Started from
``EtsyConfig.ready()``, so every process (gunicorn worker, Celery worker, beat, commands) traces
before it serves anything. JSON log lines written inside a span carry its ``trace_id`` and
``span_id`` beside the ``request_id`` (etsy.logging), and each request span carries the request id.
"""

from __future__ import annotations

from django.conf import settings
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanProcessor

_instrumentors: list = []
_traced_connections: list = []
_provider: TracerProvider | None = None


def _trace_django_connection(sender=None, connection=None, **kwargs) -> None:
    """Trace each psycopg connection Django opens, keeping Django's own cursor class underneath.

    (Patching ``psycopg.connect`` alone records nothing: Django sets its cursor factory after connecting.)
    """
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

    raw = getattr(connection, "connection", None)
    if raw is not None and _provider is not None:
        PsycopgInstrumentor.instrument_connection(raw, tracer_provider=_provider)
        _traced_connections.append(raw)


def _request_id_on_span(span, request, response) -> None:
    request_id = getattr(request, "request_id", None)
    if request_id and span is not None and span.is_recording():
        span.set_attribute("http.request_id", request_id)


def start_tracing(*, processor: SpanProcessor | None = None) -> TracerProvider | None:
    """Instrument Django, psycopg, Redis, Celery and requests; return the provider (None when tracing is off).

    ``processor`` replaces the OTLP exporter (tests pass an in-memory one).
    """
    global _provider
    if _instrumentors:
        return None
    if processor is None:
        if not settings.OTEL_EXPORTER_OTLP_ENDPOINT:
            return None
        processor = BatchSpanProcessor(_otlp_exporter())
    from django.db import connections
    from django.db.backends.signals import connection_created
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor

    provider = TracerProvider(
        resource=Resource.create(
            {"service.name": settings.OTEL_SERVICE_NAME, "deployment.environment": settings.ETSY_ENV}
        )
    )
    provider.add_span_processor(processor)
    instrumentations = [
        (DjangoInstrumentor(), {"response_hook": _request_id_on_span}),
        (RedisInstrumentor(), {}),
        (CeleryInstrumentor(), {}),
        (RequestsInstrumentor(), {}),
    ]
    for instrumentor, options in instrumentations:
        instrumentor.instrument(tracer_provider=provider, **options)
        _instrumentors.append(instrumentor)
    _provider = provider
    connection_created.connect(_trace_django_connection, weak=False, dispatch_uid="etsy.tracing")
    for connection in connections.all(initialized_only=True):
        _trace_django_connection(connection=connection)
    return provider


def stop_tracing() -> None:
    """Undo :func:`start_tracing` (tests)."""
    global _provider
    from django.db.backends.signals import connection_created
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

    connection_created.disconnect(dispatch_uid="etsy.tracing")
    while _traced_connections:
        PsycopgInstrumentor.uninstrument_connection(_traced_connections.pop())
    while _instrumentors:
        _instrumentors.pop().uninstrument()
    _provider = None


def _otlp_exporter() -> SpanExporter:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()  # endpoint, headers and timeout from the OTEL_EXPORTER_OTLP_* variables
