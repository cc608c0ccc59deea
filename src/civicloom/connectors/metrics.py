"""Connector call timings: a capability gateway decorator that records every call's latency
and failures in Prometheus (``civicloom_connector_call_duration_seconds``,
``civicloom_connector_errors_total``)."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

from civicloom.departments import CapabilityCall, CapabilityGateway, CapabilityResult

_CALL_METRICS: dict[int, tuple[Histogram, Counter]] = {}


def _call_metrics(registry: CollectorRegistry) -> tuple[Histogram, Counter]:
    if id(registry) not in _CALL_METRICS:
        _CALL_METRICS[id(registry)] = (
            Histogram(
                "civicloom_connector_call_duration_seconds",
                "Department capability calls made by this process, by outcome.",
                ["department", "capability", "outcome"],
                registry=registry,
                buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            ),
            Counter(
                "civicloom_connector_errors_total",
                "Department capability calls that failed, by error class.",
                ["department", "capability", "error"],
                registry=registry,
            ),
        )
    return _CALL_METRICS[id(registry)]


class InstrumentedGateway:
    """A capability gateway that times every call and counts failures (same behaviour)."""

    def __init__(self, inner: CapabilityGateway, registry: CollectorRegistry) -> None:
        self.inner = inner
        self.latency, self.errors = _call_metrics(registry)

    async def call(self, call: CapabilityCall) -> CapabilityResult:
        """Call through, recording latency and errors."""
        started = time.perf_counter()
        outcome = "error"
        try:
            result = await self.inner.call(call)
            outcome = result.outcome.value
            return result
        except Exception as exc:
            self.errors.labels(call.department, call.capability, type(exc).__name__).inc()
            raise
        finally:
            self.latency.labels(call.department, call.capability, outcome).observe(
                time.perf_counter() - started
            )

    def __getattr__(self, name: str) -> Any:
        # breaker_states, check_all, validate_completion… stay those of the wrapped gateway.
        return getattr(self.inner, name)
