"""The work queue page's statements do not depend on the volume (issue 23, ADR 0076): its
first and next page send the same statements with 30 open tasks and with 150, none of them the
service filter's scan of tasks, and none reading the applications' answers."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import inspect

from civicloom.applications import StepRunner
from civicloom.applications.tables import ApplicationRow, TaskRow
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.backoffice.world import drain, submit, task_of
from tests.querycount import counting

ELENA = as_persona("elena")
FIRST_DUE = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
NEXT = re.compile(r'href="(/backoffice/tasks\?[^"]*)" rel="next"')
# Per page view, first or next, whatever the volume: the services' current versions (the
# filter and every title), the capped count, the page. Raise only with a reason.
QUEUE_STATEMENTS = 3


async def _more_like(container: Container, task_id: str, numbers: range) -> None:
    """Test set-up: an open inspection like ``task_id``'s per number, each on a copy of its
    application, due an hour apart (the engine would take minutes to make 150)."""
    async with container.uow() as uow:
        session = uow.session
        task = await session.get(TaskRow, task_id)
        assert task is not None
        app = await session.get(ApplicationRow, task.application_id)
        assert app is not None
        app_values = {a.key: getattr(app, a.key) for a in inspect(ApplicationRow).column_attrs}
        task_values = {a.key: getattr(task, a.key) for a in inspect(TaskRow).column_attrs}
        for n in numbers:
            session.add(
                ApplicationRow(
                    **{
                        **app_values,
                        "id": f"clone-app-{n:04d}",
                        "reference": f"{app.reference}-{n:04d}",
                        "idempotency_key": f"clone-{n:04d}",
                    }
                )
            )
        await session.flush()
        for n in numbers:
            session.add(
                TaskRow(
                    **{
                        **task_values,
                        "id": f"clone-task-{n:04d}",
                        "application_id": f"clone-app-{n:04d}",
                        "idempotency_key": f"clone-task-{n:04d}",
                        "sla_due_at": FIRST_DUE + timedelta(hours=n),
                    }
                )
            )
        await uow.commit()


async def _pages(client: httpx.AsyncClient, container: Container) -> tuple[list[str], list[str]]:
    """The statements of Elena's first page and of its next page."""
    await client.get("/backoffice/tasks", headers=ELENA)  # warm: what a steady request sends
    with counting(container) as first:
        page = await client.get("/backoffice/tasks", headers=ELENA)
    assert page.status_code == 200, page.text
    found = NEXT.search(page.text)
    assert found is not None, "a next page"
    with counting(container) as following:
        second = await client.get(found.group(1).replace("&amp;", "&"), headers=ELENA)
    assert second.status_code == 200, second.text
    assert second.text.count("data-task=") > 0
    return first, following


async def test_first_and_next_page_cost_the_same_at_five_times_the_volume(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    app_id = await submit(container, "queue-statements", seating=60)
    await drain(runner)
    inspection = await task_of(container, app_id, "inspection")
    await _more_like(container, inspection.id, range(1, 30))
    small = await _pages(client, container)
    assert "30 open tasks" in (await client.get("/backoffice/tasks", headers=ELENA)).text

    await _more_like(container, inspection.id, range(30, 150))
    large = await _pages(client, container)
    assert "150 open tasks" in (await client.get("/backoffice/tasks", headers=ELENA)).text

    assert [len(s) for s in (*small, *large)] == [QUEUE_STATEMENTS] * 4
    for statements in (*small, *large):
        sql = " ".join(statements)
        assert "blueprint_versions" in statements[0]
        assert "DISTINCT" not in sql.upper()  # the filter's scan of tasks is gone
        # a queue line names the application, never reads its answers
        assert re.search(r"applications\.(data|decisions)\b", sql) is None
