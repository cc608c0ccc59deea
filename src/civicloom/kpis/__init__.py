"""Measuring success: service KPIs against the owner's baseline, dashboards, operational
metrics, and the demo load generator that gives them something to measure."""

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
from civicloom.kpis.loadgen import LoadReport, SimulatedClock, demo_gateway, run_loadgen
from civicloom.kpis.metrics import (
    InstrumentedGateway,
    OperationalCollector,
    register_operational_metrics,
)
from civicloom.kpis.services import Period, list_kpi_services, parse_period, service_kpis
from civicloom.kpis.web import kpis_router, to_csv

__all__ = [
    "AppRecord",
    "Bar",
    "Baseline",
    "CitizenEffort",
    "Distribution",
    "InstrumentedGateway",
    "KpiConfig",
    "KpiReport",
    "LoadReport",
    "OperationalCollector",
    "Period",
    "Records",
    "ReuseFigure",
    "ServiceCostModel",
    "ServiceFacts",
    "SimulatedClock",
    "SlaFigure",
    "TaskRecord",
    "UnitCosts",
    "bar_chart",
    "build_report",
    "cost_avoided",
    "demo_gateway",
    "kpis_router",
    "list_kpi_services",
    "load_kpi_config",
    "nearest_rank",
    "parse_kpi_config",
    "parse_period",
    "register_operational_metrics",
    "run_loadgen",
    "service_kpis",
    "to_csv",
]
