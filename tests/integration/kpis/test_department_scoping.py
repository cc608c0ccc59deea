"""Who sees which department's KPI figures (issue 16): dashboard and CSV, after a load.

Expected outcomes are written by hand: persona -> the departments whose rows the CSV shows.
- Sam, service owner of local-admin (which owns Open a restaurant): every department.
- Priya (operator) and Ada (auditor): every department of every service.
- Grace, supervisor of local-admin: local-admin's rows only.
- Officers (Olivia, Elena, Felix) and citizens: no dashboard at all.
"""

from __future__ import annotations

import csv
import io

import httpx

from civicloom.demo import LoadReport
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.kpiwork import run_kpi_jobs

EVERY = {"local-admin", "tax", "environment", "labour"}
DEPARTMENTS_SEEN = [
    ("sam", EVERY),
    ("priya", EVERY),
    ("ada", EVERY),
    ("grace", {"local-admin"}),
]
CSV_STATUS = [
    ("olivia", 403),
    ("elena", 403),
    ("felix", 403),
    ("tariq", 403),
    ("alice", 403),
]


def _departments(text: str) -> set[str]:
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows, "an empty CSV proves nothing"
    return {row["department"] for row in rows if row["department"]}


async def test_each_reader_sees_only_the_departments_they_may(
    container: Container, client: httpx.AsyncClient, loaded: LoadReport
) -> None:
    assert loaded.submitted > 0
    await run_kpi_jobs(container)  # the worker stores the report (ADR 0082)
    for persona, departments in DEPARTMENTS_SEEN:
        got = await client.get(
            "/backoffice/kpis.csv?service=open-a-restaurant", headers=as_persona(persona)
        )
        assert got.status_code == 200, persona
        assert _departments(got.text) == departments, persona
        page = await client.get(
            "/backoffice/kpis?service=open-a-restaurant",
            headers={**as_persona(persona), "Accept": "text/html"},
        )
        assert page.status_code == 200, persona
        scoped = 'id="kpi-scope"' in page.text
        assert scoped == (departments != EVERY), persona
        for other in EVERY - departments:
            # no table row or chart bar names another department
            assert f">{other}<" not in page.text, (persona, other)
            assert f"{other} p50" not in page.text, (persona, other)
    for persona, status in CSV_STATUS:
        got = await client.get(
            "/backoffice/kpis.csv?service=open-a-restaurant", headers=as_persona(persona)
        )
        assert got.status_code == status, persona


async def test_the_service_wide_headline_is_the_public_one(
    container: Container, client: httpx.AsyncClient, loaded: LoadReport
) -> None:
    await run_kpi_jobs(container)
    # Both readers on one load: the figures read are the same, the load need not run twice.
    for persona in ("grace", "sam"):
        got = await client.get(
            "/backoffice/kpis.csv?service=open-a-restaurant", headers=as_persona(persona)
        )
        rows = {(r["section"], r["key"]): r["value"] for r in csv.DictReader(io.StringIO(got.text))}
        assert rows[("applications", "submitted")] == str(loaded.submitted), persona
