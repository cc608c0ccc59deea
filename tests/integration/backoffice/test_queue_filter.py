"""The queue's service filter lists services with OPEN tasks of the department (issue 23: over
every task the department ever had it took 4.1 s at 925,000 applications)."""

from __future__ import annotations

from civicloom.applications import StepRunner
from civicloom.backoffice.queries import services_in_queue
from civicloom.runtime import Container
from tests.integration.backoffice.world import drain, persona, submit, task_of


async def test_the_filter_names_services_with_open_tasks_only(
    container: Container, runner: StepRunner
) -> None:
    olivia = persona(container, "olivia")  # local-admin
    assert await services_in_queue(container.uow(), olivia) == []
    app_id = await submit(container, "queue-filter-1")
    await drain(runner)
    review = await task_of(container, app_id, "licensing_review")
    assert review.state == "awaiting_officer"
    assert await services_in_queue(container.uow(), olivia) == ["open-a-restaurant"]
    assert await services_in_queue(container.uow(), persona(container, "tariq")) == []

    async with container.uow() as uow:  # test set-up: the review is done
        task = await uow.session.get(type(review), review.id)
        assert task is not None
        task.state = "completed"
        await uow.commit()
    assert await services_in_queue(container.uow(), olivia) == []
