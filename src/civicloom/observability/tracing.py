"""OpenTelemetry tracing: off by default, console or OTLP exporter by setting."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)

_configured = False


def configure_tracing(service_name: str, exporter: str, endpoint: str = "") -> None:
    """Install a tracer provider once per process; ``exporter`` is none, console or otlp."""
    global _configured
    if _configured:
        return
    _configured = True
    # A provider is installed even with no exporter, so trace ids exist for logs and traceparent.
    # The default sampler stays: a trace this process starts is marked sampled, so the
    # traceparent it stores on tasks and sends to departments asks them to record their spans
    # (ADR 0077, amended: a non-recording sampler here sent "not sampled" downstream).
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    span_exporter: SpanExporter | None = None
    if exporter == "console":
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    elif exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        span_exporter = OTLPSpanExporter(endpoint=endpoint) if endpoint else OTLPSpanExporter()
        provider.add_span_processor(BatchSpanProcessor(span_exporter))
    trace.set_tracer_provider(provider)


def get_tracer(name: str) -> trace.Tracer:
    """A tracer for a module."""
    return trace.get_tracer(name)
