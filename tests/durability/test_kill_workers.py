"""Durability: a department outage delays 100 applications through four real department
systems but loses nothing; every simulator applies each idempotency key exactly once (its own
ledger is the witness).

Killed workers and PostgreSQL/RabbitMQ restarts are in ``test_chaos.py`` (ADR 0045).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from civicloom.applications import SubmitApplication, submit_application
from civicloom.applications.tables import ApplicationRow, TaskRow
from civicloom.bootstrap import build_container
from civicloom.catalogue import Blueprint, publish_blueprint
from civicloom.kernel import Principal
from civicloom.settings import Profile, Settings
from tests.system.platform import Platform

APPLICATIONS = 100
ALICE = Principal(
    subject="alice",
    display_name="Alice Chen",
    roles=frozenset({"citizen"}),
    authenticated_by="dev-login",
)
# The effectful capabilities each department records in its ledger, by simulator.
EFFECTS = {
    "tax": "tax.clearance_check",
    "environment": "environment.screening",
    "labour": "labour.register_employer",
    "local_admin": "local_admin.register_activity",  # the simulator's own name for it
}


def durability_blueprint() -> Blueprint:
    """Four departments in parallel, then a registration that joins them."""
    data = "$.data."
    return Blueprint.model_validate(
        {
            "id": "durability-check",
            "version": 1,
            "owner": "local-admin",
            "reference_prefix": "DUR",
            "title": {"en": "Durability check", "zh-Hans": "耐久性检查"},
            "form": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "registration_number": {"type": "string"},
                        "parcel_id": {"type": "string"},
                        "seating": {"type": "integer"},
                        "staff_count": {"type": "integer"},
                        "business_name": {"type": "string"},
                    },
                }
            },
            "steps": [
                {
                    "id": "tax",
                    "kind": "automated",
                    "department": "tax",
                    "capability": "tax.clearance_check",
                    "input": {"registration_number": f"{data}registration_number"},
                    "retry": {"max_attempts": 50, "initial_seconds": 0.2, "max_seconds": 2},
                },
                {
                    "id": "screening",
                    "kind": "automated",
                    "department": "environment",
                    "capability": "environment.screening",
                    "input": {
                        "registration_number": f"{data}registration_number",
                        "parcel_id": f"{data}parcel_id",
                        "seating": f"{data}seating",
                        "grease_trap": True,
                        "activity": "restaurant",
                    },
                    "retry": {"max_attempts": 50, "initial_seconds": 0.2, "max_seconds": 2},
                },
                {
                    "id": "employer",
                    "kind": "automated",
                    "department": "labour",
                    "capability": "labour.register_employer",
                    "input": {
                        "registration_number": f"{data}registration_number",
                        "employer_name": f"{data}business_name",
                        "staff_count": f"{data}staff_count",
                    },
                    "retry": {"max_attempts": 50, "initial_seconds": 0.2, "max_seconds": 2},
                },
                {
                    "id": "zoning",
                    "kind": "automated",
                    "department": "local-admin",
                    "capability": "local-admin.zoning_check",
                    "input": {"parcel_id": f"{data}parcel_id", "activity": "restaurant"},
                    "retry": {"max_attempts": 50, "initial_seconds": 0.2, "max_seconds": 2},
                },
                {
                    "id": "register",
                    "kind": "automated",
                    "department": "local-admin",
                    "capability": "local-admin.register_activity",
                    "after": ["tax", "screening", "employer", "zoning"],
                    "input": {
                        "registration_number": f"{data}registration_number",
                        "parcel_id": f"{data}parcel_id",
                        "activity": "restaurant",
                    },
                    "retry": {"max_attempts": 50, "initial_seconds": 0.2, "max_seconds": 2},
                },
            ],
        }
    )


async def _submit_all(database_url: str, n: int) -> list[str]:
    container = build_container(
        Settings(profile=Profile.TEST, database_url=database_url, log_level="WARNING")
    )
    async with container.uow() as uow:
        await publish_blueprint(
            uow.session, durability_blueprint(), container.clock.now(), actor="test:setup"
        )
        await uow.commit()
    ids = []
    for i in range(n):
        view, _ = await submit_application(
            container.uow(),
            container.clock,
            ALICE,
            SubmitApplication(
                service_id="durability-check",
                data={
                    "registration_number": "BR-2019-004211",
                    "parcel_id": "P-0042-117",
                    "seating": 20 + i % 20,
                    "staff_count": 4,
                    "business_name": "Golden Dragon Kitchen Ltd",
                },
            ),
        )
        ids.append(view.id)
    await container.database.dispose()
    return ids


async def _states(database_url: str) -> Counter[str]:
    container = build_container(
        Settings(profile=Profile.TEST, database_url=database_url, log_level="WARNING")
    )
    async with container.uow() as uow:
        rows = await uow.session.execute(
            select(ApplicationRow.state, func.count()).group_by(ApplicationRow.state)
        )
        counts = Counter({state: int(n) for state, n in rows})
    await container.database.dispose()
    return counts


async def _failing_tax_steps(database_url: str) -> int:
    container = build_container(
        Settings(profile=Profile.TEST, database_url=database_url, log_level="WARNING")
    )
    async with container.uow() as uow:
        n = await uow.session.scalar(
            select(func.count())
            .select_from(TaskRow)
            .where(
                TaskRow.step_id == "tax",
                TaskRow.last_error.is_not(None),
                TaskRow.state.in_(["ready", "running"]),
            )
        )
    await container.database.dispose()
    return int(n or 0)


def _wait_until_done(platform: Platform, deadline: float, during: Any = None) -> Counter[str]:
    counts: Counter[str] = Counter()
    while time.monotonic() < deadline:
        if during is not None:
            during()
        counts = asyncio.run(_states(platform.database_url))
        if counts.get("approved", 0) == APPLICATIONS:
            return counts
        time.sleep(0.5)
    raise AssertionError(f"not all applications completed: {dict(counts)}\n{platform.logs()}")


def _assert_exactly_once(platform: Platform, ids: list[str]) -> None:
    mine = platform.task_keys(set(ids))  # random per task (ADR 0032)
    for sim, capability in EFFECTS.items():
        entries = [
            e for e in platform.ledger(sim) if e["capability"] == capability and e["key"] in mine
        ]
        assert len(entries) == APPLICATIONS, (sim, len(entries))
        assert {e["applied"] for e in entries} == {1}, sim


@pytest.mark.timeout(600)
def test_a_department_outage_delays_but_loses_nothing(platform: Platform) -> None:
    tax = platform.sims["tax"]
    tax.set_faults(error_rate=1.0)  # every call answers 503
    ids = asyncio.run(_submit_all(platform.database_url, APPLICATIONS))
    platform.start_worker()
    deadline = time.monotonic() + 60
    # The other departments go on; tax calls fail and wait to be retried.
    failing = 0
    while time.monotonic() < deadline and failing < APPLICATIONS:
        failing = asyncio.run(_failing_tax_steps(platform.database_url))
        time.sleep(0.5)
    assert failing == APPLICATIONS, platform.logs()
    assert asyncio.run(_states(platform.database_url))["in_progress"] == APPLICATIONS
    assert not [e for e in platform.ledger("tax") if e["capability"] == "tax.clearance_check"]
    tax.set_faults()  # the tax system recovers
    counts = _wait_until_done(platform, time.monotonic() + 300)
    assert counts["approved"] == APPLICATIONS
    _assert_exactly_once(platform, ids)
    health = httpx.get(f"{platform.api_url}/readyz", timeout=5)
    assert health.status_code == 200
