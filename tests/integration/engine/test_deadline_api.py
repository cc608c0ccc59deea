"""The API shows the stopped clock and the escalation (issue 18): ``clock_stopped_at`` on the
application's status and on the officer's task, ``escalated_to`` on both (the role the overdue
step was escalated to, besides its own). The dates were counted by hand on the Riverton
calendar (Fri 25 Dec 2026 and Fri 1 Jan 2027 are holidays), as in ``test_deadlines.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from civicloom.applications import (
    StepRunner,
    answer_information_request,
    request_information,
    sweep_slas,
)
from civicloom.kernel import FixedClock
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.backoffice.world import Departments, drain, persona, submit, task_of

MONDAY_21_DEC = datetime(2026, 12, 21, 10, 0, tzinfo=UTC)


@pytest.fixture
def clock(container: Container) -> FixedClock:
    clock = FixedClock(MONDAY_21_DEC)
    container.clock = clock
    return clock


async def test_the_api_shows_when_the_clock_stopped_and_to_whom_a_step_was_escalated(
    container: Container, clock: FixedClock, client: httpx.AsyncClient
) -> None:
    app_id = await submit(container, "api-clock-1")
    await drain(StepRunner(container, Departments().gateway()))
    review = await task_of(container, app_id, "licensing_review")
    clock.advance(timedelta(days=2, hours=1))  # Wed 23 Dec 2026, 11:00
    await request_information(
        container.uow(), clock, persona(container, "olivia"), review.id, "Send the floor plan"
    )

    status = await client.get(f"/api/v1/applications/{app_id}/status", headers=as_persona("alice"))
    assert status.status_code == 200, status.text
    body = status.json()
    assert body["clock_stopped_at"] == "2026-12-23T11:00:00Z"
    assert body["deadline_at"] == "2027-01-20T10:00:00Z"
    steps = {s["step"]: s for s in body["steps"]}
    assert (steps["licensing_review"]["escalated"], steps["licensing_review"]["escalated_to"]) == (
        False,
        None,
    )
    task = await client.get(f"/api/v1/tasks/{review.id}", headers=as_persona("olivia"))
    assert task.status_code == 200, task.text
    assert (task.json()["clock_stopped_at"], task.json()["escalated_to"]) == (
        "2026-12-23T11:00:00Z",
        None,
    )
    # Another citizen reads neither.
    other = await client.get(f"/api/v1/applications/{app_id}/status", headers=as_persona("bob"))
    assert other.status_code == 404

    await answer_information_request(
        container.uow(), clock, persona(container, "alice"), app_id, "Attached"
    )
    # Answered at once, so nothing moved: the review's SLA (Thu 24 Dec, 10:00) is long past.
    clock.advance(timedelta(days=14))  # Wed 6 Jan 2027, 11:00
    assert (await sweep_slas(container.uow(), clock.now()))[1] == 1

    status = await client.get(f"/api/v1/applications/{app_id}/status", headers=as_persona("alice"))
    body = status.json()
    assert body["clock_stopped_at"] is None
    steps = {s["step"]: s for s in body["steps"]}
    assert (steps["licensing_review"]["escalated"], steps["licensing_review"]["escalated_to"]) == (
        True,
        "supervisor",
    )
    task = await client.get(f"/api/v1/tasks/{review.id}", headers=as_persona("olivia"))
    assert (task.json()["role"], task.json()["escalated_to"], task.json()["clock_stopped_at"]) == (
        "licensing-officer",
        "supervisor",
        None,
    )
    # The officer's task page says who else may act on it, in both languages.
    page = await client.get(f"/backoffice/tasks/{review.id}", headers=as_persona("olivia"))
    assert page.status_code == 200, page.text[:2000]
    assert "Overdue: the department's supervisors can act on it too." in page.text
    chinese = await client.get(
        f"/backoffice/tasks/{review.id}",
        headers={**as_persona("olivia"), "Accept-Language": "zh-Hans"},
    )
    assert "已逾期：本部门主管也可处理此任务。" in chinese.text
