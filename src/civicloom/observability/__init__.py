"""Logs, traces and metrics, configured once per process."""

from civicloom.observability.logging import configure_logging, get_logger
from civicloom.observability.metrics import METRICS, Metrics
from civicloom.observability.tracing import configure_tracing, get_tracer

__all__ = [
    "METRICS",
    "Metrics",
    "configure_logging",
    "configure_tracing",
    "get_logger",
    "get_tracer",
]
