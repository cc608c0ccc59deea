"""``civicloom demo seed`` (issue 23): 200 applications on both backends, counted by hand from
the mix the seed documents (index % 20 → state, index % 4 == 3 → change of business address),
with valid audit chains, served by the queue page and the status API, and refused in
production and into a database already seeded."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text

from civicloom.audit import verify_audit
from civicloom.demo import SeedRefused, seed_applications
from civicloom.kpis import refresh_service_days, service_day_counts
from civicloom.runtime import Container
from civicloom.settings import Profile
from tests.conftest import as_persona

N = 200


async def _rows(container: Container, sql: str) -> list[tuple[object, ...]]:
    async with container.uow() as uow:
        return [tuple(row) for row in (await uow.session.execute(text(sql))).all()]


async def test_production_refuses_and_writes_nothing(container: Container) -> None:
    production = dataclasses.replace(
        container, settings=container.settings.model_copy(update={"profile": Profile.PRODUCTION})
    )
    with pytest.raises(SeedRefused, match="never runs in the production profile"):
        await seed_applications(production, N, progress=lambda _: None)
    with pytest.raises(SeedRefused, match="--applications must be at least 1"):
        await seed_applications(container, 0, progress=lambda _: None)
    assert await _rows(container, "SELECT count(*) FROM applications") == [(0,)]
    assert await _rows(container, "SELECT count(*) FROM application_tasks") == [(0,)]


async def test_seeds_a_realistic_mix_once(container: Container, client: httpx.AsyncClient) -> None:
    report = await seed_applications(container, N, progress=lambda _: None)
    assert report.rows == {
        "applications": 200,
        "application_tasks": 1900,  # 150 restaurants x 11 steps + 50 address changes x 5
        "application_timeline": 670,  # 200 submitted + 170 decided + 300 officer/payment steps
        "payments": 110,  # every approved restaurant paid its licence fee
        "documents": 300,  # a floor plan and a lease per restaurant
        "audit_entries": 670,
    }
    assert report.rows_per_second > 0
    # The seed leaves the planner statistics of what it loaded (committed, not rolled back).
    if container.database.is_postgresql:
        assert await _rows(
            container,
            "SELECT count(*) FROM pg_stats WHERE tablename = 'application_tasks' "
            "AND attname = 'application_id'",
        ) == [(1,)]
        # ... and the visibility map (VACUUM), so index-only scans need not visit the heap
        assert await _rows(
            container, "SELECT relallvisible > 0 FROM pg_class WHERE relname = 'application_tasks'"
        ) == [(True,)]
    else:
        assert await _rows(
            container, "SELECT count(*) > 0 FROM sqlite_stat1 WHERE tbl = 'application_tasks'"
        ) == [(1,)]

    assert await _rows(
        container,
        "SELECT service_id, state, count(*) FROM applications GROUP BY 1, 2 ORDER BY 1, 2",
    ) == [
        ("change-of-business-address", "approved", 30),
        ("change-of-business-address", "in_progress", 10),
        ("change-of-business-address", "rejected", 10),
        ("open-a-restaurant", "approved", 110),
        ("open-a-restaurant", "in_progress", 20),
        ("open-a-restaurant", "rejected", 10),
        ("open-a-restaurant", "withdrawn", 10),
    ]
    assert await _rows(
        container, "SELECT state, count(*) FROM application_tasks GROUP BY 1 ORDER BY 1"
    ) == [
        ("awaiting_external", 10),
        ("awaiting_officer", 20),
        ("cancelled", 110),
        ("completed", 1460),
        ("skipped", 223),
        ("waiting", 77),
    ]
    assert await _rows(
        container,
        "SELECT department, role, count(*) FROM application_tasks "
        "WHERE state = 'awaiting_officer' GROUP BY 1, 2 ORDER BY 1",
    ) == [("environment", "inspector", 7), ("local-admin", "licensing-officer", 13)]
    assert await _rows(
        container,
        "SELECT DISTINCT state, currency, amount_minor FROM payments ORDER BY 3",
    ) == [  # the four bands of the licence fee table
        ("succeeded", "EUR", 15_000),
        ("succeeded", "EUR", 40_000),
        ("succeeded", "EUR", 65_000),
        ("succeeded", "EUR", 90_000),
    ]
    assert await _rows(
        container,
        "SELECT action, count(*) FROM audit_entries WHERE subject_id LIKE 'seed-%' "
        "GROUP BY 1 ORDER BY 1",
    ) == [
        ("application.approved", 140),
        ("application.rejected", 20),
        ("application.submitted", 200),
        ("application.withdrawn", 10),
        ("payment.received", 110),
        ("task.approved", 180),
        ("task.rejected", 10),
    ]
    async with container.uow() as uow:
        audit = await verify_audit(uow.session, None)
    assert audit.problems == []
    assert audit.entries == 670 + 26  # and the 26 entries of loading the demo world

    # An officer's queue lists the seeded open tasks of her department and role.
    queue = await client.get("/backoffice/tasks", headers=as_persona("olivia"))
    assert queue.status_code == 200
    assert "RST-SEED-0000017" in queue.text
    assert "RST-SEED-0000018" not in queue.text  # the inspection is the environment's
    assert queue.text.count('href="/backoffice/tasks/seed-') == 13
    inspector = await client.get("/backoffice/tasks", headers=as_persona("elena"))
    assert inspector.status_code == 200
    assert "RST-SEED-0000018" in inspector.text
    assert "RST-SEED-0000017" not in inspector.text  # another department's decision
    assert inspector.text.count('href="/backoffice/tasks/seed-') == 7

    # Alice's seeded application: every step of an approved restaurant (the API lists steps
    # created together by name, as for an application the engine started).
    status = await client.get(
        "/api/v1/applications/seed-000000000000/status", headers=as_persona("alice")
    )
    assert status.status_code == 200
    body = status.json()
    assert body["application"]["reference"] == "RST-SEED-0000000"
    assert body["application"]["state"] == "approved"
    assert [(s["step"], s["state"]) for s in body["steps"]] == [
        ("business", "completed"),
        ("employer", "completed"),
        ("inspection", "completed"),
        ("labour_review", "completed"),
        ("licence", "completed"),
        ("licensing_review", "completed"),
        ("payment", "completed"),
        ("register_activity", "completed"),
        ("screening", "completed"),
        ("tax", "completed"),
        ("zoning", "completed"),
    ]
    # ... which another citizen may not read.
    other = await client.get(
        "/api/v1/applications/seed-000000000000/status", headers=as_persona("bob")
    )
    assert other.status_code == 404

    # An auditor finds the seeded chain by reference, in words.
    trail = await client.get(
        "/backoffice/audit", params={"application": "RST-SEED-0000000"}, headers=as_persona("ada")
    )
    assert trail.status_code == 200
    for words in ("Application sent", "Step approved by an officer", "Fee received"):
        assert words in trail.text
    assert trail.text.count("Step approved by an officer") == 3  # inspection, labour, licensing
    assert (
        await client.get(
            "/backoffice/audit",
            params={"application": "RST-SEED-0000000"},
            headers=as_persona("alice"),
        )
    ).status_code == 403  # a citizen is no auditor

    with pytest.raises(SeedRefused, match="already holds 200 seeded applications"):
        await seed_applications(container, N, progress=lambda _: None)
    assert await _rows(container, "SELECT count(*) FROM applications") == [(200,)]


async def test_seeded_rows_reach_the_kpi_aggregates_past_their_watermark(
    container: Container,
) -> None:
    """The worker already counted up to a minute ago; seeded applications submitted up to two
    years back are still counted on its next run (they were written now)."""
    now = container.clock.now()
    async with container.uow() as uow:
        await uow.session.execute(
            text("INSERT INTO kpi_watermarks (name, changed_upto) VALUES (:n, :at)"),
            {"n": "service-day-states", "at": now - timedelta(minutes=1)},
        )
        await uow.commit()
    await seed_applications(container, N, progress=lambda _: None)
    assert await refresh_service_days(container.uow()) > 0
    counts = await service_day_counts(
        container.uow(), "open-a-restaurant", (now - timedelta(days=800)).date(), now.date()
    )
    assert dict(counts) == {"approved": 110, "in_progress": 20, "rejected": 10, "withdrawn": 10}
