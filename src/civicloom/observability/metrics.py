"""Prometheus metrics shared by the API and the worker (one registry per process)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass
class Metrics:
    """The platform's metric families, registered in their own registry."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.http_requests = Counter(
            "civicloom_http_requests_total",
            "HTTP requests by method, route template and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "civicloom_http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.applications_submitted = Counter(
            "civicloom_applications_submitted_total",
            "Applications submitted, by service.",
            ["service"],
            registry=self.registry,
        )
        self.outbox_dispatched = Counter(
            "civicloom_outbox_dispatched_total",
            "Outbox messages dispatched, by topic and outcome.",
            ["topic", "outcome"],
            registry=self.registry,
        )
        self.outbox_lag = Gauge(
            "civicloom_outbox_lag_seconds",
            "Age of the oldest undispatched outbox message seen by this worker.",
            registry=self.registry,
        )


METRICS = Metrics()
