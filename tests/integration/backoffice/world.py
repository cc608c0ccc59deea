"""Demo data for back-office tests: Open a restaurant driven through the real case engine with
in-process department answers (switchable, so a department can be down and come back)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from civicloom.applications import StepRunner, SubmitApplication, submit_application
from civicloom.applications.tables import TaskRow
from civicloom.demo import RESTAURANT_ANSWERS
from civicloom.departments import CapabilityCall, InProcessGateway, PermanentError
from civicloom.identity import load_personas, principal_for_persona
from civicloom.kernel import Principal
from civicloom.runtime import Container
from tests.registers import verified


def persona(container: Container, name: str) -> Principal:
    """A demo persona's principal."""
    return principal_for_persona(load_personas(container.settings.blueprints_dir)[name])


@dataclass
class Departments:
    """The four departments' answers for Golden Dragon Kitchen; ``down`` capabilities fail."""

    down: set[str] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)
    # reads of the business register that decide who may act for a business (ADR 0041): the
    # check itself, kept apart from the calls a case makes to the departments
    representation_reads: list[str] = field(default_factory=list)

    def gateway(self) -> InProcessGateway:
        def answer(capability: str, output: dict[str, Any]) -> Any:
            async def call(made: CapabilityCall) -> dict[str, Any]:
                if made.idempotency_key.startswith("representation:"):
                    self.representation_reads.append(capability)
                    return output
                self.calls.append(capability)
                if capability in self.down:
                    raise PermanentError(f"{capability}: the department system refused the call")
                return output

            return call

        answers: dict[str, dict[str, Any]] = {
            "local-admin.business_lookup": {
                "name": "Golden Dragon Kitchen Ltd",
                "status": "active",
                "director_name": "Alice Chen",
                "registered_address": "12 Harbour Street, Riverton",
            },
            "local-admin.zoning_check": {"zone": "commercial", "allowed": True},
            "tax.clearance_check": {"status": "cleared"},
            "environment.screening": {"outcome": "cleared"},
            "labour.register_employer": {"status": "registered", "employer_id": "EMP-1"},
            "local-admin.register_activity": {"status": "registered"},
        }
        return InProcessGateway({cap: answer(cap, out) for cap, out in answers.items()})


def restaurant_data(**overrides: Any) -> dict[str, Any]:
    """Golden Dragon Kitchen's answers (``seating`` > 50 makes the environment inspect)."""
    return {**RESTAURANT_ANSWERS, **overrides}


async def submit(container: Container, key: str, **overrides: Any) -> str:
    """Alice applies to open a restaurant; returns the application id."""
    alice = persona(container, "alice")
    data = restaurant_data(**overrides)
    acting = await verified(container, alice, data["business_registration_number"])
    view, _ = await submit_application(
        container.uow(),
        container.clock,
        alice,
        SubmitApplication("open-a-restaurant", data, key, acting_for=acting),
    )
    return view.id


async def drain(runner: StepRunner, rounds: int = 60) -> None:
    """Run the case engine until nothing is due."""
    for _ in range(rounds):
        if not await runner.run_once("backoffice-test"):
            return
    raise AssertionError("the engine did not settle")


async def task_of(container: Container, application_id: str, step: str) -> TaskRow:
    """The task of one step of an application."""
    async with container.uow() as uow:
        task = await uow.session.scalar(
            select(TaskRow).where(TaskRow.application_id == application_id, TaskRow.step_id == step)
        )
    assert task is not None, f"no {step} task"
    return task


async def overdue(container: Container, task_id: str, by: timedelta = timedelta(days=1)) -> None:
    """Test set-up only: move a task's SLA deadline into the past (as time passing would)."""
    async with container.uow() as uow:
        task = await uow.session.get(TaskRow, task_id)
        assert task is not None
        task.sla_due_at = container.clock.now() - by
        await uow.commit()
