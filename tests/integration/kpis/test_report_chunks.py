"""The KPI report reads a period a chunk of applications at a time (ADR 0074): never the form
data (only its field names), at most a chunk of applications and their tasks at once, and the
same figures whatever the chunk size. The world is 300 applications built so that every
figure can be worked out by hand; the literals below are those sums.

Applications ``i = 0..299``, two per minute from 2025-01-10 00:00 (ids descending within a
minute, so the keyset's id order is not the insertion order); ``j = i // 3``:

- ``i % 3 == 0``, approved (100): ``licensing_review`` (local-admin) done after ``j+1`` h, SLA
  50 h; ``inspection`` (environment, the inspector's visit) done after 30 min with a 1 h SLA
  when ``j < 25``, else skipped; a payment (the applicant's time: not counted); the
  ``licence`` (local-admin, no SLA) activated at ``j+1`` h, done at ``j+2`` h. Fields:
  business_name, business_registration_number, seating, menu. ``j < 10``: business_name was
  prefilled from local-admin (and a field not in the form, from tax). ``j < 20``: the applicant
  answered one request for information.
- ``i % 3 == 1``, refused (100) after ``2(j+1)`` h; one automated ``tax`` step done after
  ``j+1`` min, SLA 30 min. Fields: business_registration_number, staff_count.
- ``i % 3 == 2``, in progress (100): ``licensing_review`` awaiting an officer, SLA 1 h after
  submission (breached) when ``j < 40``, else due after "now". Field: parcel_id.

Outside the period, never counted: one application a microsecond before it starts, one at
its end, and one of another service inside it.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from civicloom.applications import service_case_facts
from civicloom.applications.tables import ApplicationRow, TaskRow, TimelineRow
from civicloom.catalogue import get_current_blueprint
from civicloom.kernel import FixedClock
from civicloom.kpis import Distribution, KpiReport, Period, ReuseFigure, SlaFigure
from civicloom.kpis import services as kpi_services
from civicloom.kpis.api import kpi_config
from civicloom.portal.tables import DraftRow
from civicloom.runtime import Container
from tests.querycount import counting

SERVICE = "open-a-restaurant"
START = datetime(2025, 1, 10, tzinfo=UTC)
PERIOD = Period.of_days(date(2025, 1, 6), date(2025, 1, 31))
NOW = datetime(2025, 2, 10, 12, tzinfo=UTC)
H = timedelta(hours=1)
M = timedelta(minutes=1)
FORM_FIELDS = {
    0: {"business_name": "A", "business_registration_number": "1", "seating": 9, "menu": "x"},
    1: {"business_registration_number": "2", "staff_count": 3},
    2: {"parcel_id": "P-1"},
}


async def _version(container: Container, service: str) -> tuple[str, int]:
    async with container.uow() as uow:
        published = await get_current_blueprint(uow.session, service)
        assert published is not None
        number = await uow.session.scalar(
            text("SELECT version FROM blueprint_versions WHERE id = :id"),
            {"id": published.version_id},
        )
    return published.version_id, int(number)


def _app(ident: str, version: tuple[str, int], at: datetime, **kw: Any) -> ApplicationRow:
    fields: dict[str, Any] = {"service_id": SERVICE, "state": "in_progress", "data": {}}
    fields.update(kw)
    return ApplicationRow(
        id=ident,
        reference=f"KM-{ident}",
        blueprint_version_id=version[0],
        blueprint_version=version[1],
        applicant_id="kpimem-applicant",
        request_hash="0" * 64,
        submitted_at=at,
        updated_at=at,
        **fields,
    )


def _task(app: str, step: str, kind: str, dept: str | None, state: str, **kw: Any) -> TaskRow:
    return TaskRow(
        id=f"{app}-{step}",
        application_id=app,
        step_id=step,
        kind=kind,
        department=dept,
        state=state,
        idempotency_key=f"{app}-{step}",
        created_at=NOW,
        updated_at=NOW,
        **kw,
    )


def _done(
    app: str,
    step: str,
    kind: str,
    dept: str,
    activated: datetime,
    completed: datetime,
    due: datetime | None,
) -> TaskRow:
    return _task(
        app,
        step,
        kind,
        dept,
        "completed",
        activated_at=activated,
        completed_at=completed,
        sla_due_at=due,
    )


async def _world(container: Container) -> None:
    """The 300 applications of the module's docstring, and the three it must not count."""
    version = await _version(container, SERVICE)
    other = await _version(container, "change-of-business-address")
    rows: list[Any] = []
    for i in range(300):
        ident, j, kind = f"km-{999 - i:04d}", i // 3, i % 3
        at = START + (i // 2) * M
        data = FORM_FIELDS[kind]
        if kind == 0:
            decided = at + (j + 2) * H
            rows.append(_app(ident, version, at, state="approved", decided_at=decided, data=data))
            review = ("licensing_review", "officer_review", "local-admin")
            rows.append(_done(ident, *review, at, at + (j + 1) * H, at + 50 * H))
            inspection = ("inspection", "officer_review", "environment")
            rows.append(
                _done(ident, *inspection, at, at + 30 * M, at + H)
                if j < 25
                else _task(ident, *inspection, "skipped")
            )
            rows.append(_done(ident, "payment", "payment", "local-admin", at, at + 200 * H, at + H))
            licence = ("licence", "issue_document", "local-admin")
            rows.append(_done(ident, *licence, at + (j + 1) * H, at + (j + 2) * H, None))
            if j < 10:
                prefilled = {
                    "business_name": {"department": "local-admin"},
                    "not_in_form": {"department": "tax"},
                }
                rows.append(
                    DraftRow(
                        id=f"draft-{ident}",
                        applicant_id="kpimem-applicant",
                        service_id=SERVICE,
                        blueprint_version_id=version[0],
                        data=data,
                        prefilled=prefilled,
                        idempotency_key=f"draft-{ident}",
                        application_id=ident,
                        created_at=at,
                        updated_at=at,
                    )
                )
            if j < 20:
                rows.append(
                    TimelineRow(
                        application_id=ident, at=at + H, event="information.provided", message="-"
                    )
                )
        elif kind == 1:
            decided = at + 2 * (j + 1) * H
            rows.append(_app(ident, version, at, state="rejected", decided_at=decided, data=data))
            rows.append(_done(ident, "tax", "automated", "tax", at, at + (j + 1) * M, at + 30 * M))
        else:
            rows.append(_app(ident, version, at, data=data))
            due = at + H if j < 40 else NOW + H
            review = ("licensing_review", "officer_review", "local-admin")
            rows.append(_task(ident, *review, "awaiting_officer", activated_at=at, sla_due_at=due))
    rows.append(_app("km-before", version, PERIOD.start - timedelta(microseconds=1)))
    rows.append(_app("km-at-end", version, PERIOD.end, state="approved", decided_at=PERIOD.end))
    rows.append(_app("km-other", other, START, service_id="change-of-business-address"))
    async with container.uow() as uow:
        uow.session.add_all(a for a in rows if isinstance(a, ApplicationRow))
        await uow.session.flush()
        uow.session.add_all(r for r in rows if not isinstance(r, ApplicationRow))
        await uow.commit()


async def _report(container: Container) -> KpiReport:
    clock = FixedClock(NOW)
    return await kpi_services.service_kpis(
        container.uow(), clock, kpi_config(container), SERVICE, PERIOD
    )


def _hours(h: float) -> float:
    return h * 3600.0


async def test_figures_worked_out_by_hand_whatever_the_chunk_size(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _world(container)
    whole = await _report(container)  # 300 applications: one chunk of the default 1 000

    assert whole.by_state == {"approved": 100, "rejected": 100, "in_progress": 100}
    # approved after 1..100 h (the licensing review), refused after 2, 4, .., 200 h: the
    # 100th of 200 is 67 h (67 + 33 values at or below it), the 180th 160 h (100 + 80)
    assert whole.to_decision == Distribution(200, _hours(67), _hours(160))
    assert whole.to_licence == Distribution(100, _hours(51), _hours(91))  # 2..101 h
    assert whole.per_department == {
        "environment": Distribution(25, 1800.0, 1800.0),
        # 100 reviews of 1..100 h and 100 licences of 1 h: 101 values of 1 h, then 2..100 h
        "local-admin": Distribution(200, _hours(1), _hours(80)),
        "tax": Distribution(100, 50 * 60.0, 90 * 60.0),
    }
    assert whole.sla == [
        SlaFigure("environment", "inspection", 25, 0, 0),
        SlaFigure("local-admin", "licensing_review", 50, 50, 40),
        SlaFigure("tax", "tax", 30, 70, 0),
    ]
    # shared: approved 1 + 2 + 2 fields, refused 1 + 1 + 2, in progress 0 + 1 + 0 (x 100)
    assert whole.reuse == [ReuseFigure("local-admin", 10, 1000)]
    assert whole.decided == 200
    assert whole.after == {
        "forms": 1.1,  # 200 + 20 answers
        "fields_answered": 3.0,  # 400 + 200
        "fields_typed": 2.95,  # 600 - 10 prefilled
        "documents": 0.0,
        "visits": 0.125,  # 25 inspections
        "officer_reviews": 0.625,  # 100 licensing reviews + 25 inspections
        "days_to_licence": 51.5 / 24,
    }
    # per decided application: visits (5 - v) x 38, forms (4 - f) x 12.5, 6 x 3 documents,
    # (6 - reviews / 2) x 42 officer hours: 20 x 405 + 5 x 417.5 + 75 x 476.5 + 100 x 497.5
    assert whole.cost_avoided == 95675.0
    assert whole.automated_decisions == {}

    monkeypatch.setattr(kpi_services, "FACTS_CHUNK", 7)  # 43 chunks, ties cut between them
    assert await _report(container) == whole


FORM_DATA_READ = re.compile(r"\b(applications|portal_drafts)\.data\b(?!\))")
FIELD_NAMES = re.compile(r"json(b_object_keys|_each)\(applications\.data\)")


async def test_a_report_reads_a_chunk_at_a_time_and_never_the_answers(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _world(container)
    monkeypatch.setattr(kpi_services, "FACTS_CHUNK", 64)
    chunks: list[tuple[int, int]] = []
    read = service_case_facts

    async def counted(*args: Any, **kwargs: Any) -> Any:
        found = await read(*args, **kwargs)
        chunks.append((len(found.applications), len(found.steps)))
        return found

    monkeypatch.setattr(kpi_services, "service_case_facts", counted)
    with counting(container) as statements:
        report = await _report(container)
    assert report.submitted == 300
    # 300 = 4 x 64 + 44; every application's tasks with it (4 + 1 + 1 per three)
    assert [apps for apps, _ in chunks] == [64, 64, 64, 64, 44]
    assert sum(steps for _, steps in chunks) == 600
    assert max(steps for _, steps in chunks) <= 4 * 64
    # the form data is never selected: only its keys' names, computed in the database
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert [s for s in selects if FORM_DATA_READ.search(s)] == []
    assert sum(bool(FIELD_NAMES.search(s)) for s in selects) == 5
    assert sum("FROM application_tasks" in s for s in selects) == 5
