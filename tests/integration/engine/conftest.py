"""Fixtures for case-engine tests: a controllable clock, in-process capabilities, a runner."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from civicloom.applications import StepRunner, SubmitApplication, submit_application
from civicloom.catalogue import Blueprint, publish_blueprint
from civicloom.departments import CapabilityCall, InProcessGateway, TransientError
from civicloom.kernel import FixedClock, Principal
from civicloom.runtime import Container

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a Tuesday
ALICE = Principal(
    subject="alice",
    display_name="Alice Chen",
    roles=frozenset({"citizen"}),
    authenticated_by="dev-login",
)
OLIVIA = Principal(
    subject="olivia",
    display_name="Olivia Grant",
    roles=frozenset({"officer", "licensing-officer"}),
    department="local-admin",
    authenticated_by="dev-login",
)
GRACE = Principal(
    subject="grace",
    display_name="Grace Park",
    roles=frozenset({"officer", "supervisor"}),
    department="local-admin",
    authenticated_by="dev-login",
)
TARIQ = Principal(
    subject="tariq",
    display_name="Tariq Hussain",
    roles=frozenset({"officer"}),
    department="tax",
    authenticated_by="dev-login",
)
PRIYA = Principal(
    subject="priya",
    display_name="Priya Das",
    roles=frozenset({"operator"}),
    authenticated_by="dev-login",
)


@dataclass
class Departments:
    """In-process department behaviour, with a ledger of applied idempotency keys."""

    applied: Counter[str] = field(default_factory=Counter)
    fail_times: dict[str, int] = field(default_factory=dict)
    zoning_allowed: bool = True

    def gateway(self) -> InProcessGateway:
        async def apply(call: CapabilityCall, output: dict[str, Any]) -> dict[str, Any]:
            remaining = self.fail_times.get(call.capability, 0)
            if remaining:
                self.fail_times[call.capability] = remaining - 1
                raise TransientError(f"{call.department} is down")
            self.applied[call.idempotency_key] += 1
            return output

        async def zoning(call: CapabilityCall) -> dict[str, Any]:
            return await apply(call, {"allowed": self.zoning_allowed, "zone": "commercial"})

        async def clearance(call: CapabilityCall) -> dict[str, Any]:
            return await apply(call, {"status": "cleared"})

        async def screening(call: CapabilityCall) -> dict[str, Any]:
            seats = int(call.input.get("seating") or 0)
            return await apply(
                call, {"outcome": "inspection_required" if seats > 50 else "cleared"}
            )

        async def employer(call: CapabilityCall) -> dict[str, Any]:
            return await apply(call, {"status": "registered", "review_required": False})

        return InProcessGateway(
            {
                "local-admin.zoning_check": zoning,
                "tax.clearance_check": clearance,
                "environment.screening": screening,
                "labour.register_employer": employer,
            }
        )


def engine_blueprint(
    version: int = 1, extra_steps: list[dict[str, Any]] | None = None
) -> Blueprint:
    """Four parallel department checks, a join, a conditional inspection and an officer review."""
    steps: list[dict[str, Any]] = [
        {
            "id": "zoning",
            "kind": "automated",
            "department": "local-admin",
            "capability": "local-admin.zoning_check",
            "input": {"parcel_id": "$.data.parcel_id"},
            "reject_when": "steps.zoning.output.allowed == false",
            "title": {"en": "Zoning check", "zh-Hans": "分区核查"},
            "retry": {"max_attempts": 3, "initial_seconds": 1, "max_seconds": 2},
        },
        {
            "id": "tax",
            "kind": "automated",
            "department": "tax",
            "capability": "tax.clearance_check",
            "input": {"registration_number": "$.data.registration_number"},
            "retry": {"max_attempts": 3, "initial_seconds": 1, "max_seconds": 2},
        },
        {
            "id": "environment",
            "kind": "automated",
            "department": "environment",
            "capability": "environment.screening",
            "input": {"seating": "$.data.seating"},
        },
        {
            "id": "labour",
            "kind": "automated",
            "department": "labour",
            "capability": "labour.register_employer",
            "input": {"staff_count": "$.data.staff_count"},
        },
        {
            "id": "inspection",
            "kind": "officer_review",
            "department": "local-admin",
            "role": "licensing-officer",
            "after": ["environment"],
            "when": "steps.environment.output.outcome == 'inspection_required'",
            "sla": {"seconds": 3600},
        },
        {
            "id": "review",
            "kind": "officer_review",
            "department": "local-admin",
            "role": "licensing-officer",
            "after": ["zoning", "tax", "inspection", "labour"],
            "sla": {"working_days": 5},
        },
        {"id": "notify", "kind": "notify", "after": ["review"], "template": "decision"},
        *(extra_steps or []),
    ]
    return Blueprint.model_validate(
        {
            "id": "engine-test",
            "version": version,
            "owner": "local-admin",
            "reference_prefix": "ENG",
            "title": {"en": "Engine test", "zh-Hans": "引擎测试"},
            "legal_deadline_working_days": 20,
            "form": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "parcel_id": {"type": "string", "x-visible-to": ["local-admin"]},
                        "registration_number": {
                            "type": "string",
                            "x-visible-to": ["local-admin", "tax"],
                        },
                        "seating": {
                            "type": "integer",
                            "x-visible-to": ["local-admin", "environment"],
                        },
                        "staff_count": {
                            "type": "integer",
                            "x-visible-to": ["local-admin", "labour"],
                        },
                    },
                }
            },
            "steps": steps,
        }
    )


@dataclass
class Engine:
    """The engine under test, driven step by step."""

    container: Container
    clock: FixedClock
    departments: Departments
    runner: StepRunner

    async def publish(self, blueprint: Blueprint) -> None:
        async with self.container.uow() as uow:
            await publish_blueprint(uow.session, blueprint, self.clock.now(), actor="test:setup")
            await uow.commit()

    async def submit(self, seating: int = 20, service: str = "engine-test") -> str:
        view, _ = await submit_application(
            self.container.uow(),
            self.clock,
            ALICE,
            SubmitApplication(
                service_id=service,
                data={
                    "parcel_id": "P-0042-117",
                    "registration_number": "BR-2019-004211",
                    "seating": seating,
                    "staff_count": 4,
                },
            ),
        )
        return view.id

    async def drain(self, max_rounds: int = 50) -> int:
        """Run the worker until nothing is due now; returns steps handled."""
        total = 0
        for _ in range(max_rounds):
            handled = await self.runner.run_once("test-worker")
            total += handled
            if handled == 0:
                return total
        raise AssertionError("the engine did not settle")


@pytest.fixture
async def engine(container: Container) -> Engine:
    clock = FixedClock(T0)
    container.clock = clock
    departments = Departments()
    runner = StepRunner(container, departments.gateway())
    e = Engine(container, clock, departments, runner)
    await e.publish(engine_blueprint())
    return e


def later(engine: Engine, seconds: float) -> None:
    """Move the engine's clock on."""
    engine.clock.advance(timedelta(seconds=seconds))
