"""Reading ``blueprints/kpis.yaml``: unit costs and each service's effort model."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from civicloom.kernel import FieldError, ValidationFailed
from civicloom.kpis.domain import ServiceCostModel, UnitCosts

KPI_FILE = "kpis.yaml"


@dataclass(frozen=True)
class KpiConfig:
    """Unit costs for the whole platform and a cost model per service."""

    costs: UnitCosts = field(default_factory=UnitCosts)
    services: dict[str, ServiceCostModel] = field(default_factory=dict)

    def model_for(self, service: str) -> ServiceCostModel:
        """The service's model (zero effort figures when it declares none)."""
        return self.services.get(service, ServiceCostModel())


def _number(doc: dict[str, Any], key: str, where: str) -> float:
    value = doc.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValidationFailed(
            [FieldError(f"{where}.{key}", "non-negative-number", f"{key} must be a number ≥ 0")]
        )
    return float(value)


def parse_kpi_config(document: dict[str, Any]) -> KpiConfig:
    """Validate and build the configuration from the parsed YAML document."""
    unit = document.get("unit_costs") or {}
    currency = str(document.get("currency", "EUR"))
    costs = UnitCosts(
        currency=currency,
        visit=_number(unit, "visit", "unit_costs"),
        paper_form=_number(unit, "paper_form", "unit_costs"),
        paper_document=_number(unit, "paper_document", "unit_costs"),
        officer_hour=_number(unit, "officer_hour", "unit_costs"),
    )
    services = {}
    for name, spec in (document.get("services") or {}).items():
        where = f"services.{name}"
        services[str(name)] = ServiceCostModel(
            officer_hours_before=_number(spec, "officer_hours_before", where),
            officer_minutes_per_review=_number(spec, "officer_minutes_per_review", where),
            visit_roles=tuple(str(r) for r in spec.get("visit_roles", [])),
        )
    return KpiConfig(costs, services)


def load_kpi_config(blueprints_dir: Path) -> KpiConfig:
    """``<blueprints_dir>/kpis.yaml``, or zero costs when the file is absent."""
    path = blueprints_dir / KPI_FILE
    if not path.exists():
        return KpiConfig()
    return parse_kpi_config(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
