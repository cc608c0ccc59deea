"""Measuring success: service KPIs against the owner's baseline, dashboards, operational
metrics (the demo load generator that gives them something to measure is
``civicloom.demo.loadgen``)."""

from civicloom.kpis.aggregates import REFRESH_SECONDS, refresh_service_days, service_day_counts
from civicloom.kpis.api import kpis_api_router, to_csv
from civicloom.kpis.charts import Bar, bar_chart
from civicloom.kpis.compute import AppRecord, Records, ServiceFacts, TaskRecord, build_report
from civicloom.kpis.config import KpiConfig, load_kpi_config, parse_kpi_config
from civicloom.kpis.domain import (
    Baseline,
    CitizenEffort,
    Distribution,
    KpiReport,
    ReuseFigure,
    ServiceCostModel,
    SlaFigure,
    UnitCosts,
    cost_avoided,
    nearest_rank,
)
from civicloom.kpis.metrics import OperationalCollector, register_operational_metrics
from civicloom.kpis.pages import kpis_pages_router
from civicloom.kpis.services import (
    Period,
    list_kpi_services,
    parse_period,
    service_kpis,
    staff_kpis,
)
from civicloom.kpis.snapshots import (
    PERIOD_SECONDS,
    Snapshot,
    compute_requested_periods,
    refresh_report_snapshots,
    report_snapshot,
)

__all__ = [
    "PERIOD_SECONDS",
    "REFRESH_SECONDS",
    "AppRecord",
    "Bar",
    "Baseline",
    "CitizenEffort",
    "Distribution",
    "KpiConfig",
    "KpiReport",
    "OperationalCollector",
    "Period",
    "Records",
    "ReuseFigure",
    "ServiceCostModel",
    "ServiceFacts",
    "SlaFigure",
    "Snapshot",
    "TaskRecord",
    "UnitCosts",
    "bar_chart",
    "build_report",
    "compute_requested_periods",
    "cost_avoided",
    "kpis_api_router",
    "kpis_pages_router",
    "list_kpi_services",
    "load_kpi_config",
    "nearest_rank",
    "parse_kpi_config",
    "parse_period",
    "refresh_report_snapshots",
    "refresh_service_days",
    "register_operational_metrics",
    "report_snapshot",
    "service_day_counts",
    "service_kpis",
    "staff_kpis",
    "to_csv",
]
