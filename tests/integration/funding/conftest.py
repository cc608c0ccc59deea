"""A container after the demo load generator ran, with its usage facts built."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest

from civicloom.demo import LoadReport
from civicloom.funding import rebuild_days
from civicloom.runtime import Container
from tests.integration.kpis.conftest import generate

LOAD = 20
DONE_WHEN_LOAD = 200  # issue 21's done-when: ``civicloom demo loadgen 200``


@dataclass(frozen=True)
class Funded:
    """The load and the range of days its facts were built for."""

    report: LoadReport
    first: date
    last: date


@pytest.fixture
async def funded(container: Container) -> Funded:
    """``LOAD`` applications through the real engine, then facts for the last 90 days."""
    report = await generate(container, count=LOAD, seed=11)
    last = datetime.now(UTC).date()
    first = date.fromordinal(last.toordinal() - 90)
    await rebuild_days(container.uow(), first, last)
    return Funded(report, first, last)


@pytest.fixture
async def funded_200(container: Container) -> Funded:
    """Issue 21's done-when load: ``DONE_WHEN_LOAD`` applications, facts for the last 90 days."""
    report = await generate(container, count=DONE_WHEN_LOAD, seed=11)
    last = datetime.now(UTC).date()
    first = date.fromordinal(last.toordinal() - 90)
    await rebuild_days(container.uow(), first, last)
    return Funded(report, first, last)
