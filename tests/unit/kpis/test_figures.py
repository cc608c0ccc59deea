"""The KPI arithmetic on hand-made records: percentiles, SLA, reuse, cost avoided, CSV rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from civicloom.kernel import FixedClock, ValidationFailed
from civicloom.kpis import (
    AppRecord,
    Bar,
    Baseline,
    CitizenEffort,
    Records,
    ServiceCostModel,
    ServiceFacts,
    TaskRecord,
    UnitCosts,
    bar_chart,
    build_report,
    cost_avoided,
    nearest_rank,
    parse_kpi_config,
    parse_period,
)
from civicloom.kpis.pages import charts

T0 = datetime(2027, 3, 1, 9, tzinfo=UTC)
H = timedelta(hours=1)


def test_nearest_rank_percentiles() -> None:
    assert nearest_rank([], 50) is None
    assert nearest_rank([5.0], 90) == 5.0
    values = [float(v) for v in range(1, 11)]
    assert nearest_rank(values, 50) == 5.0
    assert nearest_rank(values, 90) == 9.0
    assert nearest_rank(list(reversed(values)), 100) == 10.0


def test_cost_avoided_never_counts_negative_savings() -> None:
    baseline = Baseline(applications=4, visits=5, paper_documents=6)
    costs = UnitCosts(visit=10, paper_form=2, paper_document=1, officer_hour=40)
    model = ServiceCostModel(officer_hours_before=2, officer_minutes_per_review=30)
    effort = CitizenEffort(
        forms=1, fields_answered=9, fields_typed=6, documents=2, visits=1, officer_reviews=2
    )
    # 4 visits saved, 3 forms, 6 documents, 2h - 1h officer time
    assert cost_avoided(effort, baseline, model, costs) == 40 + 6 + 6 + 40
    busy = CitizenEffort(1, 9, 6, 0, 9, 10)
    assert cost_avoided(busy, baseline, model, costs) == 0 + 6 + 6 + 0


def _facts() -> ServiceFacts:
    return ServiceFacts(
        service="svc",
        title={"en": "A service"},
        baseline=Baseline(applications=3, visits=2, form_fields=20, average_days=30),
        sharing=[("local-admin", "tax", ("reg",)), ("local-admin", "labour", ("reg", "staff"))],
        step_roles={"inspect": "inspector"},
        model=ServiceCostModel(visit_roles=("inspector",)),
        costs=UnitCosts(visit=100),
    )


def _task(app: str, step: str, kind: str, dept: str | None, **kw: object) -> TaskRecord:
    fields: dict[str, object] = {
        "state": "completed",
        "activated_at": T0,
        "completed_at": T0 + 2 * H,
        "sla_due_at": T0 + 3 * H,
    }
    fields.update(kw)
    return TaskRecord(app, step, kind, dept, **fields)  # type: ignore[arg-type]


def test_report_from_records() -> None:
    apps = [
        AppRecord("a", "approved", T0, T0 + 10 * H, frozenset({"reg", "staff", "name"})),
        AppRecord("b", "rejected", T0, T0 + 4 * H, frozenset({"reg"})),
        AppRecord("c", "in_progress", T0, None, frozenset({"reg", "staff"})),
    ]
    tasks = [
        _task("a", "check", "automated", "tax"),
        _task("a", "inspect", "officer_review", "environment", completed_at=T0 + 5 * H),
        _task("a", "pay", "payment", "local-admin", completed_at=T0 + 9 * H),
        _task("a", "licence", "issue_document", "local-admin", completed_at=T0 + 10 * H),
        _task("b", "check", "automated", "tax", completed_at=T0 + 4 * H),
        _task("c", "check", "automated", "tax", state="ready", completed_at=None),
    ]
    records = Records(apps=apps, tasks=tasks, prefilled={"a": {"name": "local-admin"}})
    now = T0 + 24 * H
    report = build_report(_facts(), records, T0, now, now)
    assert report.by_state == {"approved": 1, "rejected": 1, "in_progress": 1}
    # a: decided when the inspection (the last officer review) approved it; b: when refused
    assert (report.to_decision.count, report.to_decision.p50) == (2, 4 * 3600)
    assert report.to_decision.p90 == 5 * 3600
    assert (report.to_licence.count, report.to_licence.p50) == (1, 10 * 3600)
    assert report.per_department["tax"].count == 2  # payment (the applicant's time) excluded
    assert "local-admin" in report.per_department  # the licence step
    tax = next(s for s in report.sla if s.step == "check")
    assert (tax.on_time, tax.late, tax.open_breached) == (1, 1, 1)
    assert tax.compliance == 0.5
    [reuse] = report.reuse
    assert (reuse.source, reuse.prefilled, reuse.shared) == ("local-admin", 1, 3 + 2 + 3)
    assert report.after["visits"] == 0.5  # one inspection over two decided applications
    assert report.after["fields_typed"] == (2 + 1) / 2
    assert report.cost_avoided == 100 * (2 - 1) + 100 * 2
    rows = {(s, k, d): v for s, k, d, v in report.rows()}
    assert rows[("time", "to_licence_p50_hours", "")] == "10"
    assert rows[("sla", "compliance", "tax")] == "0.5"


def test_config_refuses_negative_costs() -> None:
    config = parse_kpi_config(
        {"currency": "EUR", "unit_costs": {"visit": 3}, "services": {"s": {"visit_roles": ["x"]}}}
    )
    assert config.costs.visit == 3.0
    assert config.model_for("s").visit_roles == ("x",)
    assert config.model_for("other") == ServiceCostModel()
    with pytest.raises(ValidationFailed) as caught:
        parse_kpi_config({"unit_costs": {"visit": -1}})
    assert caught.value.errors[0].field == "unit_costs.visit"


def test_period_parsing() -> None:
    clock = FixedClock(T0)
    period = parse_period(clock, None, None)
    assert period.end == datetime(2027, 3, 2, tzinfo=UTC)
    assert period.end - period.start == timedelta(days=90)
    with pytest.raises(ValidationFailed) as caught:
        parse_period(clock, "03/01/2027", None)
    assert caught.value.errors[0].field == "from"
    with pytest.raises(ValidationFailed):
        parse_period(clock, "2027-03-02", "2027-03-01")


def test_chart_escapes_labels_and_is_described() -> None:
    svg = str(bar_chart("T<1>", "D&D", [Bar("<script>", 2.0, "2 h"), Bar("b", 1.0, "1 h")]))
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert 'role="img"' in svg
    assert "<title id=" in svg
    assert "D&amp;D" in svg
    assert "No data" in str(bar_chart("t", "d", []))


def test_a_step_of_minutes_is_drawn_short_and_labelled_in_minutes() -> None:
    apps = [AppRecord("a", "in_progress", T0, None, frozenset())]
    two_minutes = _task("a", "check", "automated", "tax", completed_at=T0 + timedelta(minutes=2))
    report = build_report(
        _facts(),
        Records(apps=apps, tasks=[two_minutes], prefilled={}),
        T0,
        T0 + 24 * H,
        T0 + 24 * H,
    )
    svg = str(charts(report)["time"])
    assert "<title>tax p50: 2 min</title>" in svg
    assert 'width="11.0"' in svg  # 2 of 60 minutes on the 330-unit hour scale, not full length
    assert "0.0 h" not in svg
