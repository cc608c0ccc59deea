"""An answer reaches only the department that asked (found by the attack review, issue 19).

Two departments waited for the applicant at once; the portal showed only the newest question
and its one answer was stored on every waiting task, so the task page showed each department
what was written for the other. Now each question is answered on its own (``step_id``)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from civicloom.applications import answer_information_request, request_information
from civicloom.applications.tables import TaskRow
from civicloom.kernel import Conflict, ValidationFailed
from tests.conftest import as_persona
from tests.integration.backoffice.world import persona
from tests.integration.engine.conftest import ALICE, Engine, engine_blueprint

ENV_REVIEW = {
    "id": "env_review",
    "kind": "officer_review",
    "department": "environment",
    "role": "inspector",
    "after": ["environment"],
}


async def two_questions(engine: Engine) -> tuple[str, dict[str, str]]:
    await engine.publish(engine_blueprint(version=2, extra_steps=[ENV_REVIEW]))
    app_id = await engine.submit(seating=60)  # inspection (local-admin) and env_review open
    await engine.drain()
    async with engine.container.uow() as uow:
        tasks = {
            t.step_id: t.id
            for t in await uow.session.scalars(
                select(TaskRow).where(TaskRow.application_id == app_id)
            )
        }
    c = engine.container
    await request_information(
        c.uow(), engine.clock, persona(c, "olivia"), tasks["inspection"], "Send the lease."
    )
    await request_information(
        c.uow(), engine.clock, persona(c, "elena"), tasks["env_review"], "Send the hood record."
    )
    return app_id, tasks


async def outputs(engine: Engine, app_id: str) -> dict[str, tuple[str, list[str]]]:
    async with engine.container.uow() as uow:
        rows = await uow.session.scalars(select(TaskRow).where(TaskRow.application_id == app_id))
        return {
            r.step_id: (r.state, [a["answer"] for a in (r.output or {}).get("answers", [])])
            for r in rows
            if r.step_id in ("inspection", "env_review")
        }


async def test_each_answer_goes_only_to_the_department_that_asked(engine: Engine) -> None:
    app_id, _ = await two_questions(engine)
    c = engine.container
    with pytest.raises(ValidationFailed) as refused:
        await answer_information_request(c.uow(), engine.clock, ALICE, app_id, "Both, here.")
    assert [(e.field, e.rule) for e in refused.value.errors] == [("step_id", "required")]
    assert await outputs(engine, app_id) == {
        "inspection": ("awaiting_applicant", []),
        "env_review": ("awaiting_applicant", []),
    }

    await answer_information_request(
        c.uow(), engine.clock, ALICE, app_id, "Lease uploaded; rent 2,000 a month.", "inspection"
    )
    assert await outputs(engine, app_id) == {
        "inspection": ("awaiting_officer", ["Lease uploaded; rent 2,000 a month."]),
        "env_review": ("awaiting_applicant", []),
    }
    with pytest.raises(Conflict):  # answered already: no longer waiting
        await answer_information_request(
            c.uow(), engine.clock, ALICE, app_id, "Again.", "inspection"
        )
    await answer_information_request(
        c.uow(), engine.clock, ALICE, app_id, "Hood serviced in May.", "env_review"
    )
    assert await outputs(engine, app_id) == {
        "inspection": ("awaiting_officer", ["Lease uploaded; rent 2,000 a month."]),
        "env_review": ("awaiting_officer", ["Hood serviced in May."]),
    }


async def test_the_portal_asks_each_question_on_its_own(
    engine: Engine, client: httpx.AsyncClient
) -> None:
    app_id, tasks = await two_questions(engine)
    alice = {**as_persona("alice"), "Accept": "text/html"}
    page = await client.get(f"/applications/{app_id}", headers=alice)
    assert page.status_code == 200
    assert 'data-question="inspection">Send the lease.<' in page.text
    assert 'data-question="env_review">Send the hood record.<' in page.text
    assert "each answer goes only to the department that asked" in page.text
    sent = await client.post(
        f"/applications/{app_id}/information",
        data={"answer": "Hood serviced in May.", "step": "env_review"},
        headers=alice,
    )
    assert sent.status_code == 303
    assert await outputs(engine, app_id) == {
        "inspection": ("awaiting_applicant", []),
        "env_review": ("awaiting_officer", ["Hood serviced in May."]),
    }
    olivia = {**as_persona("olivia"), "Accept": "text/html"}
    task_page = await client.get(f"/backoffice/tasks/{tasks['inspection']}", headers=olivia)
    assert task_page.status_code == 200
    assert "Hood serviced in May." not in task_page.text
    api = await client.post(
        f"/api/v1/applications/{app_id}/information",
        json={"answer": "Both."},
        headers=as_persona("alice"),
    )
    assert api.status_code == 204  # only one department still waits: it is that one's
    assert await outputs(engine, app_id) == {
        "inspection": ("awaiting_officer", ["Both."]),
        "env_review": ("awaiting_officer", ["Hood serviced in May."]),
    }
