"""Fixtures for back-office tests: the demo world with the case engine run in-process."""

from __future__ import annotations

import pytest

from civicloom.applications import StepRunner
from civicloom.runtime import Container
from tests.integration.backoffice.world import Departments


@pytest.fixture
def departments() -> Departments:
    """Department answers; put a capability in ``down`` to make its calls fail."""
    return Departments()


@pytest.fixture
def runner(container: Container, departments: Departments) -> StepRunner:
    """The case engine's step runner over the in-process departments."""
    return StepRunner(container, departments.gateway())
