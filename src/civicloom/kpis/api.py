"""The KPI dashboard's figures as CSV (the pages themselves are ``kpis/pages.py``)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from civicloom.kpis.config import KPI_FILE, KpiConfig, load_kpi_config
from civicloom.kpis.domain import KpiReport
from civicloom.kpis.services import parse_period
from civicloom.kpis.snapshots import RETRY_SECONDS, staff_snapshot
from civicloom.runtime import Container
from civicloom.web import ContainerDep, CurrentPrincipal, problem_response, require_roles

KPI_ROLES = ("service-owner", "supervisor", "operator", "auditor")
kpis_api_router = APIRouter(include_in_schema=False)
DateParam = Annotated[str | None, Query(alias="from", max_length=10)]
ToParam = Annotated[str | None, Query(alias="to", max_length=10)]


_configs: dict[Path, tuple[int, KpiConfig]] = {}


def kpi_config(container: Container) -> KpiConfig:
    """The KPI configuration (baselines, cost model) from the blueprints directory, parsed
    again only when ``kpis.yaml`` changed."""
    directory = container.settings.blueprints_dir
    path = directory / KPI_FILE
    stamp = path.stat().st_mtime_ns if path.exists() else 0
    cached = _configs.get(directory)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    config = load_kpi_config(directory)
    _configs[directory] = (stamp, config)
    return config


@kpis_api_router.get("/backoffice/kpis.csv", dependencies=[require_roles(*KPI_ROLES)])
async def dashboard_csv(
    request: Request,
    container: ContainerDep,
    principal: CurrentPrincipal,
    service: Annotated[str, Query(max_length=100, pattern=r"^[a-z][a-z0-9-]{1,60}$")],
    start: DateParam = None,
    end: ToParam = None,
) -> Response:
    """The dashboard's figures as CSV (``section,key,department,value``), limited to the
    departments the reader may see (``kpis.domain.kpi_scope``)."""
    period = parse_period(container.clock, start, end)
    snapshot, _ = await staff_snapshot(
        container.uow(),
        container.clock,
        service,
        period,
        principal,
        2 * container.settings.kpi_snapshot_seconds,
    )  # PeriodsBusy: 429 problem+json with Retry-After (web/errors.py)
    if snapshot is None:  # recorded for the worker (ADR 0082): nothing computed here
        first, last = period.start.date(), (period.end - timedelta(days=1)).date()
        response = problem_response(
            request,
            503,
            "kpi-figures-being-prepared",
            f"the figures of {service!r} from {first} to {last} are being prepared; "
            f"ask again in {RETRY_SECONDS} seconds",
        )
        response.headers["Retry-After"] = str(RETRY_SECONDS)
        return response
    return Response(
        to_csv(snapshot.report),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="kpis-{service}.csv"',
            "Cache-Control": "no-store",
        },
    )


def to_csv(report: KpiReport) -> str:
    """The report's rows as CSV with a header line."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["section", "key", "department", "value"])
    writer.writerows(report.rows())
    return buffer.getvalue()
