"""KPI figures and the pure arithmetic behind them (no database, no web).

Every figure is defined here once, in words a service owner can check, so the dashboard,
the CSV export, the public page and ``civicloom kpi report`` all show the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from civicloom.kernel import Principal

HOUR = 3600.0
DAY = 86400.0


def nearest_rank(values: Sequence[float], percent: float) -> float | None:
    """The nearest-rank percentile (the smallest value with at least ``percent``% at or below
    it); ``None`` for no values. Chosen because anyone can recompute it by hand."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100.0 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Distribution:
    """How long something took: count, median and 90th percentile, in seconds."""

    count: int
    p50: float | None
    p90: float | None

    @classmethod
    def of(cls, seconds: Iterable[float]) -> Distribution:
        """Summarise durations in seconds."""
        values = [float(s) for s in seconds]
        return cls(len(values), nearest_rank(values, 50), nearest_rank(values, 90))


@dataclass(frozen=True)
class UnitCosts:
    """What a visit, paper form, paper document and officer hour cost (``blueprints/kpis.yaml``)."""

    currency: str = "EUR"
    visit: float = 0.0
    paper_form: float = 0.0
    paper_document: float = 0.0
    officer_hour: float = 0.0


@dataclass(frozen=True)
class ServiceCostModel:
    """A service's declared officer effort before and now, and which roles visit in person."""

    officer_hours_before: float = 0.0
    officer_minutes_per_review: float = 0.0
    visit_roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Baseline:
    """The service owner's "before" figures, as declared in the blueprint."""

    applications: int = 0
    offices: int = 0
    form_fields: int = 0
    repeated_fields: int = 0
    paper_documents: int = 0
    visits: int = 0
    average_days: float = 0.0

    @classmethod
    def from_document(cls, document: dict[str, Any] | None) -> Baseline | None:
        """The ``baseline`` section of a blueprint document, if it declares one."""
        if not document:
            return None
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in document.items() if k in names})


@dataclass(frozen=True)
class CitizenEffort:
    """What one application asked of its applicant (measured from the records)."""

    forms: int  # 1 application + each answered information request
    fields_answered: int
    fields_typed: int  # answered minus those prefilled from registers or mandates
    documents: int  # uploads: digital, never paper
    visits: int  # in-person steps (roles declared in the cost model, e.g. inspector)
    officer_reviews: int  # completed officer review steps


def cost_avoided(
    effort: CitizenEffort, baseline: Baseline, model: ServiceCostModel, costs: UnitCosts
) -> float:
    """Cost avoided by one decided application against the baseline (never negative per line):
    visits, paper forms and paper documents no longer needed, and officer hours saved."""
    visits = max(0, baseline.visits - effort.visits) * costs.visit
    forms = max(0, baseline.applications - effort.forms) * costs.paper_form
    documents = baseline.paper_documents * costs.paper_document
    hours_now = effort.officer_reviews * model.officer_minutes_per_review / 60.0
    officer = max(0.0, model.officer_hours_before - hours_now) * costs.officer_hour
    return visits + forms + documents + officer


@dataclass(frozen=True)
class SlaFigure:
    """SLA compliance of one department's step: completed on time, late, and still open late."""

    department: str
    step: str
    on_time: int
    late: int
    open_breached: int

    @property
    def compliance(self) -> float | None:
        """Share of completed steps finished by their SLA due date (None when none finished)."""
        done = self.on_time + self.late
        return self.on_time / done if done else None


@dataclass(frozen=True)
class ReuseFigure:
    """Fields one department's data supplied instead of asking the applicant (again)."""

    source: str  # the department that holds (or collected) the data
    prefilled: int  # filled from its registers or the applicant's mandate, with consent
    shared: int  # typed once and shared with another department under an agreement

    @property
    def total(self) -> int:
        """Fields not asked again."""
        return self.prefilled + self.shared


@dataclass(frozen=True)
class KpiReport:
    """Every KPI of one service over one period ``[start, end)`` of submission dates."""

    service: str
    title: dict[str, str]
    start: datetime
    end: datetime
    generated_at: datetime
    baseline: Baseline | None
    costs: UnitCosts
    by_state: dict[str, int]
    to_decision: Distribution
    to_licence: Distribution
    per_department: dict[str, Distribution]
    sla: list[SlaFigure]
    reuse: list[ReuseFigure]
    after: dict[str, float | None]  # mean citizen effort per application (CitizenEffort names)
    cost_avoided: float
    decided: int
    automated_decisions: dict[str, int] = field(default_factory=dict)

    @property
    def submitted(self) -> int:
        """Applications submitted in the period."""
        return sum(self.by_state.values())

    @property
    def fields_reused(self) -> int:
        """Fields supplied by government data instead of the applicant, in all."""
        return sum(r.total for r in self.reuse)

    def department_sla(self) -> dict[str, float | None]:
        """SLA compliance per department over all of its steps."""
        out: dict[str, float | None] = {}
        for dept in sorted({s.department for s in self.sla}):
            on_time = sum(s.on_time for s in self.sla if s.department == dept)
            done = sum(s.on_time + s.late for s in self.sla if s.department == dept)
            out[dept] = on_time / done if done else None
        return out

    @property
    def sla_compliance(self) -> float | None:
        """SLA compliance over every step with an SLA."""
        on_time = sum(s.on_time for s in self.sla)
        done = sum(s.on_time + s.late for s in self.sla)
        return on_time / done if done else None

    def rows(self) -> list[tuple[str, str, str, str]]:
        """The report as ``(section, key, department, value)`` rows: the CSV export and the
        table alternative of every chart come from here."""
        rows: list[tuple[str, str, str, str]] = []

        def add(section: str, key: str, value: object, department: str = "") -> None:
            rows.append((section, key, department, _fmt(value)))

        add("period", "start", self.start.isoformat())
        add("period", "end", self.end.isoformat())
        for state, count in sorted(self.by_state.items()):
            add("applications", state, count)
        add("applications", "submitted", self.submitted)
        for name, dist in (("to_decision", self.to_decision), ("to_licence", self.to_licence)):
            add("time", f"{name}_count", dist.count)
            add("time", f"{name}_p50_hours", _hours(dist.p50))
            add("time", f"{name}_p90_hours", _hours(dist.p90))
        for dept, dist in sorted(self.per_department.items()):
            add("department_time", "steps", dist.count, dept)
            add("department_time", "p50_hours", _hours(dist.p50), dept)
            add("department_time", "p90_hours", _hours(dist.p90), dept)
        for s in self.sla:
            add("sla", f"{s.step}.on_time", s.on_time, s.department)
            add("sla", f"{s.step}.late", s.late, s.department)
            add("sla", f"{s.step}.open_breached", s.open_breached, s.department)
        for dept, share in self.department_sla().items():
            add("sla", "compliance", share, dept)
        for r in self.reuse:
            add("reuse", "prefilled", r.prefilled, r.source)
            add("reuse", "shared", r.shared, r.source)
        add("reuse", "total", self.fields_reused)
        if self.baseline is not None:
            for name in Baseline.__dataclass_fields__:
                add("baseline", name, getattr(self.baseline, name))
        for name, value in self.after.items():
            add("after", name, value)
        for dept, count in sorted(self.automated_decisions.items()):
            add("rules", "decisions", count, dept)
        add("cost", "decided_applications", self.decided)
        add("cost", f"avoided_{self.costs.currency}", round(self.cost_avoided, 2))
        return rows


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / HOUR, 2)


def _fmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value % 1 else str(int(value))
    return str(value)


# Who reads the dashboard, and how much of it (ADR 0034). Aggregates only, never a person.
EVERY_SERVICE_ROLES = frozenset({"operator", "auditor"})
DEPARTMENT_KPI_ROLES = frozenset({"supervisor", "service-owner"})


@dataclass(frozen=True)
class KpiScope:
    """The part of a service's figures one reader may see: ``department`` None means every
    department's rows; otherwise only that department's (the service-wide headline, which the
    public performance page shows anyway, stays)."""

    department: str | None


def kpi_scope(principal: Principal, owner: str, departments: Iterable[str]) -> KpiScope | None:
    """What ``principal`` may see of a service owned by ``owner`` whose steps run in
    ``departments``; None when nothing (the service is not shown to them).

    - operators and auditors: every service, every department (they oversee the platform);
    - the owning department's service owner: every department of the services it owns;
    - a supervisor (or another department's service owner) of a department that runs a step
      of the service: only that department's rows;
    - anyone else (officers included): nothing.
    """
    if EVERY_SERVICE_ROLES & principal.roles:
        return KpiScope(None)
    department = principal.department
    if department is None or not DEPARTMENT_KPI_ROLES & principal.roles:
        return None
    if "service-owner" in principal.roles and department == owner:
        return KpiScope(None)
    if department == owner or department in set(departments):
        return KpiScope(department)
    return None


def scoped_report(report: KpiReport, scope: KpiScope) -> KpiReport:
    """The report with only the rows ``scope`` may see (per department time, SLA, data reuse
    by source and rule evaluations)."""
    department = scope.department
    if department is None:
        return report
    return replace(
        report,
        per_department={d: v for d, v in report.per_department.items() if d == department},
        sla=[s for s in report.sla if s.department == department],
        reuse=[r for r in report.reuse if r.source == department],
        automated_decisions={
            d: n for d, n in report.automated_decisions.items() if d == department
        },
    )


def report_document(report: KpiReport) -> dict[str, Any]:
    """The report as a JSON document (what a snapshot stores; ``report_of`` reads it back)."""
    return {
        "service": report.service,
        "title": dict(report.title),
        "start": report.start.isoformat(),
        "end": report.end.isoformat(),
        "generated_at": report.generated_at.isoformat(),
        "baseline": None if report.baseline is None else asdict(report.baseline),
        "costs": asdict(report.costs),
        "by_state": dict(report.by_state),
        "to_decision": asdict(report.to_decision),
        "to_licence": asdict(report.to_licence),
        "per_department": {d: asdict(v) for d, v in report.per_department.items()},
        "sla": [asdict(s) for s in report.sla],
        "reuse": [asdict(r) for r in report.reuse],
        "after": dict(report.after),
        "cost_avoided": report.cost_avoided,
        "decided": report.decided,
        "automated_decisions": dict(report.automated_decisions),
    }


def report_of(document: dict[str, Any]) -> KpiReport:
    """The report a ``report_document`` stored."""
    baseline = document["baseline"]
    return KpiReport(
        service=str(document["service"]),
        title={str(k): str(v) for k, v in document["title"].items()},
        start=datetime.fromisoformat(document["start"]),
        end=datetime.fromisoformat(document["end"]),
        generated_at=datetime.fromisoformat(document["generated_at"]),
        baseline=None if baseline is None else Baseline(**baseline),
        costs=UnitCosts(**document["costs"]),
        by_state={str(k): int(v) for k, v in document["by_state"].items()},
        to_decision=Distribution(**document["to_decision"]),
        to_licence=Distribution(**document["to_licence"]),
        per_department={str(d): Distribution(**v) for d, v in document["per_department"].items()},
        sla=[SlaFigure(**s) for s in document["sla"]],
        reuse=[ReuseFigure(**r) for r in document["reuse"]],
        after={str(k): v for k, v in document["after"].items()},
        cost_avoided=float(document["cost_avoided"]),
        decided=int(document["decided"]),
        automated_decisions={str(k): int(v) for k, v in document["automated_decisions"].items()},
    )
