"""The queue's service filter is read from the catalogue (issue 23, ADR 0076): the services whose
current version gives the department a human step, whatever the number of tasks (a DISTINCT
over the department's open tasks took 296 ms at 100,000 applications). Who must not: a
department never finds another department's service in its filter, and choosing one by hand
shows nothing of it, in words."""

from __future__ import annotations

import re

import httpx

from civicloom.applications import StepRunner
from civicloom.applications.tables import ApplicationRow
from civicloom.backoffice.queries import services_in_queue
from civicloom.catalogue import Blueprint, list_current_blueprints, publish_blueprint
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.backoffice.world import drain, persona, submit, task_of

SERVICE_SELECT = re.compile(
    r'<select class="govuk-select" id="service" name="service">(.*?)</select>', re.S
)
OUTSIDE_EN = "Your department has no step in this service, so your queue holds none of its tasks."
OUTSIDE_ZH = "本部门在此服务中没有办理步骤，因此您的队列中没有该服务的任务。"


async def _tax_reviews_address_changes(container: Container) -> None:
    """Test set-up: a new version of Change of business address whose tax step is a review by a
    tax officer (the demo's version gives tax an automated step there, no human one)."""
    async with container.uow() as uow:
        current = next(
            p.blueprint
            for p in await list_current_blueprints(uow.session)
            if p.blueprint.id == "change-of-business-address"
        )
        document = current.document()
        document["version"] = current.version + 1
        for step in document["steps"]:
            if step["id"] == "tax_address":
                for key in ("capability", "input", "retry"):
                    step.pop(key, None)
                step.update(kind="officer_review", role="tax-officer")
        newer = Blueprint.model_validate(document)
        await publish_blueprint(uow.session, newer, container.clock.now(), actor="test:setup")
        await uow.commit()


def _offered(page: httpx.Response) -> list[str]:
    """The service ids the page's filter offers (the "All services" option left out)."""
    assert page.status_code == 200, page.text
    found = SERVICE_SELECT.search(page.text)
    assert found is not None
    return [v for v in re.findall(r'<option value="([^"]*)"', found.group(1)) if v]


def _tasks(page: httpx.Response) -> list[str]:
    assert page.status_code == 200, page.text
    return re.findall(r'data-task="([^"]+)"', page.text)


async def test_a_department_is_offered_exactly_the_services_it_has_a_human_step_in(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    # nothing submitted yet: the catalogue answers, not the tasks
    assert await services_in_queue(container.uow(), persona(container, "olivia")) == [
        "open-a-restaurant"
    ]
    # who must not: tax calls a clearance check in Open a restaurant and updates its record in
    # Change of business address, both automated, so its filter offers neither
    assert await services_in_queue(container.uow(), persona(container, "tariq")) == []
    await _tax_reviews_address_changes(container)
    assert await services_in_queue(container.uow(), persona(container, "tariq")) == [
        "change-of-business-address"
    ]

    app_id = await submit(container, "queue-filter-1", seating=60)
    await drain(runner)
    inspection = await task_of(container, app_id, "inspection")
    assert inspection.state == "awaiting_officer"

    offered = {
        who: _offered(await client.get("/backoffice/tasks", headers=as_persona(who)))
        for who in ("olivia", "elena", "lars", "tariq")
    }
    assert offered == {
        "olivia": ["open-a-restaurant"],
        "elena": ["open-a-restaurant"],
        "lars": ["open-a-restaurant"],
        "tariq": ["change-of-business-address"],
    }

    # Elena's inspection is in her queue, filtered by its service or not
    elena = as_persona("elena")
    assert _tasks(await client.get("/backoffice/tasks", headers=elena)) == [inspection.id]
    mine = await client.get("/backoffice/tasks?service=open-a-restaurant", headers=elena)
    assert _tasks(mine) == [inspection.id]
    assert OUTSIDE_EN not in mine.text

    # who must not: Tariq choosing her service by hand sees nothing of it, and is told why
    foreign = await client.get(
        "/backoffice/tasks?service=open-a-restaurant", headers=as_persona("tariq")
    )
    assert _tasks(foreign) == []
    assert inspection.id not in foreign.text
    async with container.uow() as uow:
        application = await uow.session.get(ApplicationRow, app_id)
        assert application is not None
    assert application.reference in mine.text
    assert application.reference not in foreign.text
    assert OUTSIDE_EN in foreign.text
    assert "0 open tasks" in foreign.text
    # nor does Elena see anything under a service her department has no step in
    other = await client.get(
        "/backoffice/tasks?service=change-of-business-address",
        headers={**elena, "Accept-Language": "zh-Hans"},
    )
    assert _tasks(other) == []
    assert OUTSIDE_ZH in other.text
    # a service id nobody publishes: the same answer, no error page
    made_up = await client.get("/backoffice/tasks?service=no-such-service", headers=elena)
    assert _tasks(made_up) == []
    assert OUTSIDE_EN in made_up.text

    # A task of a service the filter no longer offers (its application pinned to a version the
    # department had a step in, here: its service withdrawn from the catalogue) stays reachable
    # by choosing it, and only to its own department (attack review of ADR 0076).
    async with container.uow() as uow:
        application = await uow.session.get(ApplicationRow, app_id)
        assert application is not None
        application.service_id = "retired-restaurant-licence"
        await uow.commit()
    retired = await client.get(
        "/backoffice/tasks?service=retired-restaurant-licence", headers=elena
    )
    assert _tasks(retired) == [inspection.id]
    assert OUTSIDE_EN not in retired.text
    stranger = await client.get(
        "/backoffice/tasks?service=retired-restaurant-licence", headers=as_persona("tariq")
    )
    assert _tasks(stranger) == []
    assert OUTSIDE_EN in stranger.text
