"""The worker's KPI jobs, run in a test (ADR 0082): requests never compute a report, so a test
that wants figures on a page runs what the worker would have run meanwhile."""

from __future__ import annotations

from civicloom.kpis import compute_requested_periods, refresh_report_snapshots
from civicloom.kpis.api import kpi_config
from civicloom.runtime import Container


async def run_kpi_jobs(container: Container) -> int:
    """Store the default period of every service and every period someone asked for; how
    many requested periods were computed."""
    config = kpi_config(container)
    await refresh_report_snapshots(container.uow(), container.clock, config)
    return await compute_requested_periods(container.uow(), container.clock, config)
