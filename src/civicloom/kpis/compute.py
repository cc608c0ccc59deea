"""From raw records to a ``KpiReport`` (pure: the records are read by ``services``)."""

from __future__ import annotations

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


def build_report(
    facts: ServiceFacts, records: Records, start: datetime, end: datetime, now: datetime
) -> KpiReport:
    """Compute every KPI of the service over ``[start, end)`` from its records."""
    by_app: dict[str, list[TaskRecord]] = defaultdict(list)
    for t in records.tasks:
        by_app[t.application_id].append(t)
    by_state = Counter(a.state for a in records.apps)

    to_decision, to_licence = [], []
    efforts: list[CitizenEffort] = []
    visit_steps = {s for s, role in facts.step_roles.items() if role in facts.model.visit_roles}
    for app in records.apps:
        tasks = by_app.get(app.id, [])
        if app.state not in DECIDED:
            continue
        decided = _seconds(app.submitted_at, _decision_at(app, tasks))
        if decided is not None:
            to_decision.append(decided)
        licence = [t for t in tasks if t.kind == StepKind.ISSUE_DOCUMENT and t.state == DONE]
        if app.state == "approved" and licence:
            licensed = _seconds(app.submitted_at, licence[0].completed_at)
            if licensed is not None:
                to_licence.append(licensed)
        prefilled = {f for f in records.prefilled.get(app.id, {}) if f in app.fields}
        efforts.append(
            CitizenEffort(
                forms=1 + records.answers[app.id],
                fields_answered=len(app.fields),
                fields_typed=len(app.fields) - len(prefilled),
                documents=records.documents[app.id],
                visits=sum(1 for t in tasks if t.step_id in visit_steps and t.state == DONE),
                officer_reviews=sum(
                    1 for t in tasks if t.kind == StepKind.OFFICER_REVIEW and t.state == DONE
                ),
            )
        )

    durations: dict[str, list[float]] = defaultdict(list)
    sla: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for t in records.tasks:
        if t.department is None or t.kind in APPLICANT_KINDS:
            continue
        if t.state == DONE:
            took = _seconds(t.activated_at, t.completed_at)
            if took is not None:
                durations[t.department].append(took)
        if t.sla_due_at is None:
            continue
        counts = sla[(t.department, t.step_id)]
        if t.state == DONE and t.completed_at is not None:
            counts[0 if t.completed_at <= t.sla_due_at else 1] += 1
        elif t.state not in CLOSED and t.sla_due_at < now:
            counts[2] += 1

    prefilled_by: Counter[str] = Counter()
    shared_by: Counter[str] = Counter()
    for app in records.apps:
        for name, dept in records.prefilled.get(app.id, {}).items():
            if name in app.fields:
                prefilled_by[dept] += 1
        for source, _target, names in facts.sharing:
            covered = app.fields if "*" in names else app.fields & set(names)
            shared_by[source] += len(covered)
    reuse = [
        ReuseFigure(dept, prefilled_by[dept], shared_by[dept])
        for dept in sorted(set(prefilled_by) | set(shared_by))
    ]

    after: dict[str, float | None] = {
        name: (fmean(getattr(e, name) for e in efforts) if efforts else None)
        for name in CitizenEffort.__dataclass_fields__
    }
    after["days_to_licence"] = fmean(to_licence) / DAY if to_licence else None
    avoided = 0.0
    if facts.baseline is not None:
        avoided = sum(cost_avoided(e, facts.baseline, facts.model, facts.costs) for e in efforts)
    return KpiReport(
        service=facts.service,
        title=facts.title,
        start=start,
        end=end,
        generated_at=now,
        baseline=facts.baseline,
        costs=facts.costs,
        by_state=dict(by_state),
        to_decision=Distribution.of(to_decision),
        to_licence=Distribution.of(to_licence),
        per_department={d: Distribution.of(v) for d, v in sorted(durations.items())},
        sla=[SlaFigure(dept, step, *counts) for (dept, step), counts in sorted(sla.items())],
        reuse=reuse,
        after=after,
        cost_avoided=avoided,
        decided=len(efforts),
        automated_decisions=dict(records.decisions),
    )


def sharing_of(agreements: Sequence[DataSharing]) -> list[tuple[str, str, tuple[str, ...]]]:
    """The blueprint's data-sharing agreements as ``(from, to, fields)``."""
    return [(a.from_department, a.to_department, tuple(a.fields)) for a in agreements]
