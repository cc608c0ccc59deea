"""Done when: after the load generator finishes, the dashboard's figures equal figures
recomputed here from the raw records with SQL written in this test (not the module's code)."""

# ruff: noqa: S608 -- queries built from constants of this test, never from input

from __future__ import annotations

import csv
import io
import json
import math
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import text

from civicloom.demo import LoadReport
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.kpiwork import run_kpi_jobs

SERVICE = "open-a-restaurant"
APPLICANT_KINDS = "('payment', 'applicant_action')"


def rank(values: list[float], percent: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(percent / 100 * len(ordered))) - 1]


def secs(dialect: str, a: str, b: str) -> str:
    if dialect == "sqlite":
        return f"((julianday({b}) - julianday({a})) * 86400.0)"
    return f"EXTRACT(EPOCH FROM ({b} - {a}))"


def as_json(value: Any) -> dict[str, Any]:
    return dict(json.loads(value) if isinstance(value, str) else value or {})


async def sql(container: Container, query: str) -> list[Any]:
    async with container.database.engine.connect() as conn:
        return list((await conn.execute(text(query))).all())


async def fetch_csv(client: httpx.AsyncClient) -> dict[tuple[str, str, str], str]:
    response = await client.get(
        f"/backoffice/kpis.csv?service={SERVICE}", headers=as_persona("sam")
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    return {(r["section"], r["key"], r["department"]): r["value"] for r in rows}


def close(shown: str, expected: float, places: float = 0.011) -> bool:
    return abs(float(shown) - expected) <= places


async def test_dashboard_figures_match_the_raw_records(
    container: Container, client: httpx.AsyncClient, loaded: LoadReport, project_root: Path
) -> None:
    await run_kpi_jobs(container)  # the worker stores the report (ADR 0082)
    figures = await fetch_csv(client)
    dialect = container.database.engine.dialect.name
    apps = await sql(
        container,
        f"SELECT id, state, data FROM applications WHERE service_id = '{SERVICE}'",
    )
    states = Counter(state for _, state, _ in apps)
    assert sum(states.values()) == len(loaded.application_ids) > 0
    assert states["approved"], "the load has approvals"
    assert states["rejected"], "the load has refusals"
    for state, n in states.items():
        assert figures[("applications", state, "")] == str(n)

    decision = await sql(
        container,
        f"""SELECT {
            secs(
                dialect,
                "a.submitted_at",
                '''CASE WHEN a.state = 'rejected'
              THEN a.decided_at ELSE COALESCE((SELECT MAX(t.completed_at)
              FROM application_tasks t WHERE t.application_id = a.id
              AND t.kind = 'officer_review' AND t.state = 'completed'), a.decided_at) END''',
            )
        }
            FROM applications a WHERE a.state IN ('approved', 'rejected')""",
    )
    licence = await sql(
        container,
        f"""SELECT {secs(dialect, "a.submitted_at", "t.completed_at")} FROM applications a
            JOIN application_tasks t ON t.application_id = a.id
            WHERE a.state = 'approved' AND t.kind = 'issue_document'
            AND t.state = 'completed'""",
    )
    for name, rows in (("to_decision", decision), ("to_licence", licence)):
        values = [float(r[0]) for r in rows]
        assert figures[("time", f"{name}_count", "")] == str(len(values))
        assert close(figures[("time", f"{name}_p50_hours", "")], rank(values, 50) / 3600)
        assert close(figures[("time", f"{name}_p90_hours", "")], rank(values, 90) / 3600)
    assert float(figures[("time", "to_licence_p50_hours", "")]) > 1, "a simulated clock"

    per_dept: dict[str, list[float]] = defaultdict(list)
    for dept, seconds in await sql(
        container,
        f"""SELECT department, {secs(dialect, "activated_at", "completed_at")}
            FROM application_tasks WHERE state = 'completed' AND department IS NOT NULL
            AND activated_at IS NOT NULL AND kind NOT IN {APPLICANT_KINDS}""",
    ):
        per_dept[dept].append(float(seconds))
    assert set(per_dept) == {"local-admin", "tax", "environment", "labour"}
    for dept, values in per_dept.items():
        assert figures[("department_time", "steps", dept)] == str(len(values))
        assert close(figures[("department_time", "p50_hours", dept)], rank(values, 50) / 3600)
        assert close(figures[("department_time", "p90_hours", dept)], rank(values, 90) / 3600)

    sla = await sql(
        container,
        f"""SELECT department, step_id,
              SUM(CASE WHEN completed_at <= sla_due_at THEN 1 ELSE 0 END),
              SUM(CASE WHEN completed_at > sla_due_at THEN 1 ELSE 0 END)
            FROM application_tasks WHERE state = 'completed' AND sla_due_at IS NOT NULL
            AND department IS NOT NULL AND kind NOT IN {APPLICANT_KINDS}
            GROUP BY department, step_id""",
    )
    on_time_by: Counter[str] = Counter()
    done_by: Counter[str] = Counter()
    for dept, step, on_time, late in sla:
        assert figures[("sla", f"{step}.on_time", dept)] == str(on_time)
        assert figures[("sla", f"{step}.late", dept)] == str(late)
        on_time_by[dept] += int(on_time)
        done_by[dept] += int(on_time) + int(late)
    for dept, done in done_by.items():
        assert close(figures[("sla", "compliance", dept)], on_time_by[dept] / done, 0.0001)

    blueprint = yaml.safe_load(
        (project_root / "blueprints/services/open-a-restaurant/blueprint.yaml").read_text()
    )
    data = {app_id: as_json(d) for app_id, _, d in apps}
    prefilled: dict[str, set[str]] = {}
    for app_id, sources in await sql(
        container,
        "SELECT application_id, prefilled FROM portal_drafts WHERE application_id IS NOT NULL",
    ):
        prefilled[app_id] = {f for f in as_json(sources) if f in data[app_id]}
    shared = sum(
        len(set(agreement["fields"]) & set(fields))
        for fields in data.values()
        for agreement in blueprint["data_sharing"]
    )
    assert sum(len(f) for f in prefilled.values()) > 0, "the portal prefilled from registers"
    assert figures[("reuse", "prefilled", "local-admin")] == str(
        sum(len(f) for f in prefilled.values())
    )
    assert figures[("reuse", "shared", "local-admin")] == str(shared)

    kpis = yaml.safe_load((project_root / "blueprints/kpis.yaml").read_text())
    costs, model = kpis["unit_costs"], kpis["services"][SERVICE]
    base = blueprint["baseline"]
    reviews = dict(
        await sql(
            container,
            """SELECT application_id, COUNT(*) FROM application_tasks
               WHERE kind = 'officer_review' AND state = 'completed' GROUP BY application_id""",
        )
    )
    visits = dict(
        await sql(
            container,
            """SELECT application_id, COUNT(*) FROM application_tasks
               WHERE step_id = 'inspection' AND state = 'completed' GROUP BY application_id""",
        )
    )
    expected = 0.0
    for app_id, state, _ in apps:
        if state not in ("approved", "rejected"):
            continue
        officer_hours = reviews.get(app_id, 0) * model["officer_minutes_per_review"] / 60
        expected += (
            max(0, base["visits"] - visits.get(app_id, 0)) * costs["visit"]
            + (base["applications"] - 1) * costs["paper_form"]
            + base["paper_documents"] * costs["paper_document"]
            + max(0.0, model["officer_hours_before"] - officer_hours) * costs["officer_hour"]
        )
    assert close(figures[("cost", "avoided_EUR", "")], expected)
