"""Query-count baselines: the work queue and the supervision page cost the same with many
tasks (an N+1 query fails here, not for an officer)."""

from __future__ import annotations

import httpx

from civicloom.applications import StepRunner
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.backoffice.world import drain, submit
from tests.querycount import counting

# Statements per page view, whatever the number of tasks. Raise only with a reason.
QUEUE_MAX = 3  # current blueprint versions (the filter, from the catalogue), capped count, page
# attention list, workload, the steps' titles in words; the team from the staff directory
# (entries, grants)
SUPERVISION_MAX = 5


async def views(client: httpx.AsyncClient, container: Container) -> tuple[int, int]:
    """Statements for Elena's queue and Grace's supervision page."""
    with counting(container) as queue:
        page = await client.get("/backoffice/tasks", headers=as_persona("elena"))
        assert page.status_code == 200
    with counting(container) as supervision:
        page = await client.get("/backoffice/supervision", headers=as_persona("grace"))
        assert page.status_code == 200
    return len(queue), len(supervision)


async def test_queue_pages_cost_the_same_with_many_tasks(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    for n in range(2):
        await submit(container, f"few-{n}", seating=60)
    await drain(runner)
    few = await views(client, container)
    for n in range(10):
        await submit(container, f"many-{n}", seating=60)
    await drain(runner)
    many = await views(client, container)
    assert few == many
    assert many[0] <= QUEUE_MAX
    assert many[1] <= SUPERVISION_MAX
    listed = await client.get("/backoffice/tasks", headers=as_persona("elena"))
    assert "12 open tasks" in listed.text
