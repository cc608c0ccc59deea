"""Operational metrics read from the database at scrape time (connector call timings are
``civicloom.connectors.metrics``).

Prometheus collectors are synchronous, so the collector reads through a small synchronous
engine on the same database (sqlite3 or psycopg): a handful of grouped queries per scrape,
whichever process (API or worker) answers ``/metrics``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from civicloom.applications import case_figures
from civicloom.observability import get_logger
from civicloom.outbox import pending_backlog

log = get_logger(__name__)


def sync_url(url: str) -> str:
    """The synchronous driver's URL for the platform's async database URL."""
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        return parsed.set(drivername="sqlite").render_as_string(hide_password=False)
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class OperationalCollector(Collector):
    """Applications by state, task queues per department, SLA breaches, connector errors
    (retries and dead letters) and outbox lag, straight from the database."""

    def __init__(self, database_url: str) -> None:
        self._engine: Engine | None = None
        self.database_url = database_url

    def use(self, database_url: str) -> None:
        """Point at another database (a new app in the same process, e.g. in tests)."""
        if database_url != self.database_url:
            self.close()
            self.database_url = database_url

    def close(self) -> None:
        """Drop the connection pool."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def _db(self) -> Engine:
        if self._engine is None:
            self._engine = create_engine(sync_url(self.database_url), poolclass=NullPool)
        return self._engine

    def describe(self) -> list[Metric]:
        """No metrics at registration: nothing may connect before the first scrape."""
        return []

    def collect(self) -> Iterator[Metric]:
        """Read the figures now; a database that does not answer yields no samples."""
        try:
            yield from self._collect(datetime.now(UTC))
        except Exception as exc:
            log.warning("operational_metrics_unavailable", error=type(exc).__name__)

    def _collect(self, now: datetime) -> Iterator[Metric]:
        with self._db().connect() as conn:
            figures = case_figures(conn, now)
            backlog = pending_backlog(conn)

        g = GaugeMetricFamily(
            "civicloom_applications",
            "Applications by service and state.",
            labels=["service", "state"],
        )
        for service, state, n in figures.applications:
            g.add_metric([service, state], n)
        yield g
        depth = GaugeMetricFamily(
            "civicloom_task_queue_depth",
            "Open tasks per department and state.",
            labels=["department", "state"],
        )
        age = GaugeMetricFamily(
            "civicloom_task_queue_oldest_age_seconds",
            "Age of the oldest open task per department and state (since it was activated).",
            labels=["department", "state"],
        )
        for queue in figures.queues:
            labels = [queue.department or "platform", queue.state]
            depth.add_metric(labels, queue.count)
            if queue.oldest is not None:
                age.add_metric(labels, (now - _aware(queue.oldest)).total_seconds())
        yield depth
        yield age
        for name, doc, rows in (
            (
                "civicloom_sla_breached_open_tasks",
                "Open tasks past their SLA due date.",
                figures.breached_open,
            ),
            (
                "civicloom_sla_breaches",
                "Completed tasks that finished after their SLA due date.",
                figures.breached_done,
            ),
            (
                "civicloom_connector_retries",
                "Department calls that had to be retried (attempts beyond the first).",
                figures.retries,
            ),
            (
                "civicloom_dead_letters",
                "Unresolved dead-lettered department calls.",
                figures.dead_letters,
            ),
        ):
            family = GaugeMetricFamily(name, doc, labels=["department"])
            for dept, n in rows:
                family.add_metric([dept or "platform"], float(n or 0))
            yield family
        yield GaugeMetricFamily(
            "civicloom_outbox_pending", "Outbox messages not dispatched yet.", value=backlog.pending
        )
        yield GaugeMetricFamily(
            "civicloom_outbox_oldest_pending_age_seconds",
            "Age of the oldest undispatched outbox message (outbox lag).",
            value=backlog.lag_seconds(now),
        )


_COLLECTORS: dict[int, OperationalCollector] = {}


def register_operational_metrics(registry: CollectorRegistry, database_url: str) -> None:
    """Register the collector once per registry (later calls re-point it)."""
    existing = _COLLECTORS.get(id(registry))
    if existing is not None:
        existing.use(database_url)
        return
    collector = OperationalCollector(database_url)
    registry.register(collector)
    _COLLECTORS[id(registry)] = collector
