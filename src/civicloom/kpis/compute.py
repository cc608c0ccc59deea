"""From raw records to a ``KpiReport`` (pure: the records are read by ``services``, a chunk of
applications at a time; ADR 0074)."""

from __future__ import annotations

from array import array
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from statistics import fmean

from civicloom.applications import ApplicationFacts, StepFacts
from civicloom.catalogue import DataSharing, StepKind
from civicloom.kpis.domain import (
    DAY,
    Baseline,
    CitizenEffort,
    Distribution,
    KpiReport,
    ReuseFigure,
    ServiceCostModel,
    SlaFigure,
    UnitCosts,
    cost_avoided,
)

DECIDED = ("approved", "rejected")
DONE = "completed"
CLOSED = frozenset({"completed", "skipped", "cancelled"})
# Waiting for the applicant (to pay, to answer) is not a department's time.
APPLICANT_KINDS = frozenset({"payment", "applicant_action"})


# The applications module's views of what the KPIs count (one definition, owned there).
AppRecord = ApplicationFacts
TaskRecord = StepFacts


@dataclass
class Records:
    """Everything one report reads, for one service and period."""

    apps: list[AppRecord]
    tasks: list[TaskRecord]
    prefilled: dict[str, dict[str, str]] = field(default_factory=dict)  # app -> field -> dept
    documents: Counter[str] = field(default_factory=Counter)  # app -> uploads
    answers: Counter[str] = field(default_factory=Counter)  # app -> information answers
    decisions: Counter[str] = field(default_factory=Counter)  # department -> rule evaluations


@dataclass(frozen=True)
class ServiceFacts:
    """What the blueprint and ``kpis.yaml`` say about the service."""

    service: str
    title: dict[str, str]
    baseline: Baseline | None
    sharing: list[tuple[str, str, tuple[str, ...]]]  # (from, to, fields; "*" = all)
    step_roles: dict[str, str]
    model: ServiceCostModel
    costs: UnitCosts


def _seconds(a: datetime | None, b: datetime | None) -> float | None:
    return None if a is None or b is None else (b - a).total_seconds()


def _decision_at(app: AppRecord, tasks: list[TaskRecord]) -> datetime | None:
    """Approved: when the last officer review approved it (else when it was decided);
    refused: when it was refused."""
    if app.state == "rejected":
        return app.decided_at
    reviews = [
        t.completed_at
        for t in tasks
        if t.kind == StepKind.OFFICER_REVIEW and t.state == DONE and t.completed_at
    ]
    return max(reviews) if reviews else app.decided_at


class ReportBuilder:
    """A report computed from its records one chunk of applications at a time (ADR 0074): it
    keeps counters, sums and the durations percentiles need (one float per decided
    application, per licence and per finished step), never the records themselves.

    Every application's tasks must come in the same chunk as the application. The figures do
    not depend on how the applications are cut into chunks: counts and integer sums add up,
    percentiles sort what was kept, and means are ``fsum`` (exact) over the kept values; the
    cost avoided is a running sum in the order the chunks give the applications."""

    def __init__(self, facts: ServiceFacts, now: datetime) -> None:
        self.facts = facts
        self.now = now
        self.by_state: Counter[str] = Counter()
        self.to_decision: array[float] = array("d")  # 8 bytes a value, not a float object
        self.to_licence: array[float] = array("d")
        self.effort_sums: dict[str, int] = dict.fromkeys(CitizenEffort.__dataclass_fields__, 0)
        self.decided = 0
        self.avoided = 0.0
        self.durations: dict[str, array[float]] = defaultdict(lambda: array("d"))
        self.sla: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
        self.prefilled_by: Counter[str] = Counter()
        self.shared_by: Counter[str] = Counter()
        self.decisions: Counter[str] = Counter()
        self.visit_steps = {
            s for s, role in facts.step_roles.items() if role in facts.model.visit_roles
        }

    def add(self, records: Records) -> None:
        """Count one chunk: its applications, all of their tasks, and what else they read."""
        facts, now = self.facts, self.now
        by_app: dict[str, list[TaskRecord]] = defaultdict(list)
        for t in records.tasks:
            by_app[t.application_id].append(t)
        self.by_state.update(a.state for a in records.apps)

        for app in records.apps:
            tasks = by_app.get(app.id, [])
            if app.state not in DECIDED:
                continue
            decided = _seconds(app.submitted_at, _decision_at(app, tasks))
            if decided is not None:
                self.to_decision.append(decided)
            licence = [t for t in tasks if t.kind == StepKind.ISSUE_DOCUMENT and t.state == DONE]
            if app.state == "approved" and licence:
                licensed = _seconds(app.submitted_at, licence[0].completed_at)
                if licensed is not None:
                    self.to_licence.append(licensed)
            prefilled = {f for f in records.prefilled.get(app.id, {}) if f in app.fields}
            effort = CitizenEffort(
                forms=1 + records.answers[app.id],
                fields_answered=len(app.fields),
                fields_typed=len(app.fields) - len(prefilled),
                documents=records.documents[app.id],
                visits=sum(1 for t in tasks if t.step_id in self.visit_steps and t.state == DONE),
                officer_reviews=sum(
                    1 for t in tasks if t.kind == StepKind.OFFICER_REVIEW and t.state == DONE
                ),
            )
            self.decided += 1
            for name in self.effort_sums:
                self.effort_sums[name] += getattr(effort, name)
            if facts.baseline is not None:
                self.avoided += cost_avoided(effort, facts.baseline, facts.model, facts.costs)

        for t in records.tasks:
            if t.department is None or t.kind in APPLICANT_KINDS:
                continue
            if t.state == DONE:
                took = _seconds(t.activated_at, t.completed_at)
                if took is not None:
                    self.durations[t.department].append(took)
            if t.sla_due_at is None:
                continue
            counts = self.sla[(t.department, t.step_id)]
            if t.state == DONE and t.completed_at is not None:
                counts[0 if t.completed_at <= t.sla_due_at else 1] += 1
            elif t.state not in CLOSED and t.sla_due_at < now:
                counts[2] += 1

        for app in records.apps:
            for name, dept in records.prefilled.get(app.id, {}).items():
                if name in app.fields:
                    self.prefilled_by[dept] += 1
            for source, _target, names in facts.sharing:
                covered = app.fields if "*" in names else app.fields & set(names)
                self.shared_by[source] += len(covered)
        self.decisions.update(records.decisions)

    def report(self, start: datetime, end: datetime) -> KpiReport:
        """The report over ``[start, end)`` of everything added."""
        facts = self.facts
        prefilled_by, shared_by = self.prefilled_by, self.shared_by
        reuse = [
            ReuseFigure(dept, prefilled_by[dept], shared_by[dept])
            for dept in sorted(set(prefilled_by) | set(shared_by))
        ]
        # fmean of the efforts: fsum of integers is exact, so the integer sum over the count
        after: dict[str, float | None] = {
            name: (float(total) / self.decided if self.decided else None)
            for name, total in self.effort_sums.items()
        }
        after["days_to_licence"] = fmean(self.to_licence) / DAY if self.to_licence else None
        return KpiReport(
            service=facts.service,
            title=facts.title,
            start=start,
            end=end,
            generated_at=self.now,
            baseline=facts.baseline,
            costs=facts.costs,
            by_state=dict(self.by_state),
            to_decision=Distribution.of(self.to_decision),
            to_licence=Distribution.of(self.to_licence),
            per_department={d: Distribution.of(v) for d, v in sorted(self.durations.items())},
            sla=[
                SlaFigure(dept, step, *counts) for (dept, step), counts in sorted(self.sla.items())
            ],
            reuse=reuse,
            after=after,
            cost_avoided=self.avoided,
            decided=self.decided,
            automated_decisions=dict(self.decisions),
        )


def build_report(
    facts: ServiceFacts, records: Records, start: datetime, end: datetime, now: datetime
) -> KpiReport:
    """Compute every KPI of the service over ``[start, end)`` from its records (all in one
    chunk; ``services.service_kpis`` adds them a chunk at a time)."""
    builder = ReportBuilder(facts, now)
    builder.add(records)
    return builder.report(start, end)


def sharing_of(agreements: Sequence[DataSharing]) -> list[tuple[str, str, tuple[str, ...]]]:
    """The blueprint's data-sharing agreements as ``(from, to, fields)``."""
    return [(a.from_department, a.to_department, tuple(a.fields)) for a in agreements]
