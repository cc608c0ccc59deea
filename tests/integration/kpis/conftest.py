"""A container on which the demo load generator has run (in-process departments)."""

from __future__ import annotations

import pytest

from civicloom.applications import StepRunner
from civicloom.demo import LoadReport, SimulatedClock, demo_gateway, run_loadgen
from civicloom.documents import build_documents_runtime, licence_step_handler
from civicloom.runtime import Container
from tests.system.platform import platform

LOAD = 12


async def generate(container: Container, count: int = LOAD, seed: int = 7) -> LoadReport:
    """Run the load generator through the real engine with in-process departments."""
    clock = SimulatedClock()
    gateway = demo_gateway(clock, seed)
    runner = StepRunner(
        container,
        gateway,
        handlers={
            "issue_document": licence_step_handler(
                container, build_documents_runtime(container.settings)
            )
        },
    )

    async def drive() -> int:
        return await runner.run_once("kpi-test")

    return await run_loadgen(
        container, gateway, drive, count, seed=seed, clock=clock, progress=lambda _: None
    )


@pytest.fixture
async def loaded(container: Container) -> LoadReport:
    """The load generator's report, after it finished."""
    return await generate(container)


__all__ = ["generate", "loaded", "platform"]
