"""Supervisor, operator, auditor and service-owner pages over the real ASGI stack."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import select

from civicloom.applications import StepRunner
from civicloom.applications.tables import ApplicationRow, DeadLetterRow
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.english import english_runs, step_ids_in, visible_text
from tests.integration.backoffice.world import Departments, drain, overdue, submit, task_of


async def test_grace_sees_and_reassigns_a_breached_task(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    app_id = await submit(container, "grace-1")
    await drain(runner)
    task = await task_of(container, app_id, "licensing_review")
    assert task.state == "awaiting_officer"
    grace = as_persona("grace")

    calm = await client.get("/backoffice/supervision", headers=grace)
    assert calm.status_code == 200
    assert f'data-task="{task.id}"' not in calm.text
    await overdue(container, task.id)
    page = await client.get("/backoffice/supervision", headers=grace)
    assert f'data-task="{task.id}"' in page.text
    assert "Breached" in page.text

    moved = await client.post(
        f"/backoffice/tasks/{task.id}/assignment",
        data={"assignee": "olivia", "next": "supervision"},
        headers=grace,
    )
    assert moved.status_code == 303
    assert moved.headers["location"] == "/backoffice/supervision?done=assigned"
    assert (await task_of(container, app_id, "licensing_review")).assignee == "olivia"
    workload = await client.get("/backoffice/supervision", headers=grace)
    assert "olivia" in workload.text

    stranger = await client.post(
        f"/backoffice/tasks/{task.id}/assignment",
        data={"assignee": "mallory"},
        headers=grace,
    )
    assert stranger.status_code == 422
    officer = await client.post(
        f"/backoffice/tasks/{task.id}/assignment",
        data={"assignee": "grace"},
        headers=as_persona("olivia"),
    )
    assert officer.status_code == 403  # only supervisors assign
    assert (await task_of(container, app_id, "licensing_review")).assignee == "olivia"


async def test_priya_redrives_a_dead_letter_after_the_department_recovers(
    container: Container,
    departments: Departments,
    runner: StepRunner,
    client: httpx.AsyncClient,
) -> None:
    departments.down.add("tax.clearance_check")
    app_id = await submit(container, "priya-1")
    await drain(runner)
    assert (await task_of(container, app_id, "tax")).state == "failed"
    priya = as_persona("priya")
    page = await client.get("/backoffice/operations", headers=priya)
    assert page.status_code == 200
    assert "tax.clearance_check" in page.text
    async with container.uow() as uow:
        letter = await uow.session.scalar(select(DeadLetterRow))
    assert letter is not None

    departments.down.clear()
    redriven = await client.post(
        f"/backoffice/operations/dead-letters/{letter.id}/redrive", headers=priya
    )
    assert redriven.status_code == 303
    await drain(runner)
    assert (await task_of(container, app_id, "tax")).state == "completed"
    twice = await client.post(
        f"/backoffice/operations/dead-letters/{letter.id}/redrive", headers=priya
    )
    assert twice.headers["location"].endswith("error=resolved")
    after = await client.get("/backoffice/operations", headers=priya)
    assert f'data-dead-letter="{letter.id}"' not in after.text


async def test_abandoning_a_dead_letter_asks_first_and_names_the_application(
    container: Container,
    departments: Departments,
    runner: StepRunner,
    client: httpx.AsyncClient,
) -> None:
    departments.down.add("tax.clearance_check")
    app_id = await submit(container, "priya-2")
    await drain(runner)
    async with container.uow() as uow:
        letter = await uow.session.scalar(select(DeadLetterRow))
        reference = await uow.session.scalar(
            select(ApplicationRow.reference).where(ApplicationRow.id == app_id)
        )
    assert letter is not None
    assert reference is not None
    question = f"/backoffice/operations/dead-letters/{letter.id}/abandon"
    priya = {**as_persona("priya"), "Accept": "text/html"}
    page = await client.get("/backoffice/operations", headers=priya)
    assert f"<span data-reference>{reference}</span>" in page.text
    link = f'href="/backoffice/operations/dead-letters/{letter.id}/abandon" data-abandon'
    assert link in page.text  # a link to the question, not a button that abandons at once

    asked = await client.get(question, headers=priya)
    assert asked.status_code == 200
    assert f"Abandon the call for {reference}?" in asked.text
    assert 'id="confirm-abandon"' in asked.text
    # in Chinese the call names the department in words; the department's error stays as it
    # was recorded, marked as English
    zh = {**priya, "Accept-Language": "zh-Hans"}
    for path in (question, "/backoffice/operations"):
        read = visible_text((await client.get(path, headers=zh)).text, "en")
        assert "税务局" in read, path
        assert ">tax<" not in read, path
        assert step_ids_in(read) == [], path
        assert english_runs(read, ("Priya Das",)) == [], path
    assert (await task_of(container, app_id, "tax")).state == "failed"  # asking changed nothing
    for persona in ("olivia", "ada", "alice"):
        refused = await client.get(
            question,
            headers={**as_persona(persona), "Accept": "text/html"},
        )
        assert refused.status_code == 403, persona
    unknown = await client.get("/backoffice/operations/dead-letters/nope/abandon", headers=priya)
    assert unknown.status_code == 404

    confirmed = await client.post(question, headers=priya)
    assert confirmed.headers["location"].endswith("done=abandoned")
    again = await client.get(question, headers=priya)
    assert again.status_code == 404  # resolved: nothing left to confirm


async def test_ada_finds_every_access_to_alices_data(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    app_id = await submit(container, "ada-1", seating=60)
    await drain(runner)
    inspection = await task_of(container, app_id, "inspection")
    review = await task_of(container, app_id, "licensing_review")
    assert (
        await client.get(f"/backoffice/tasks/{inspection.id}", headers=as_persona("elena"))
    ).status_code == 200
    ada = as_persona("ada")

    found = await client.get("/backoffice/audit?person=alice&reads=true", headers=ada)
    assert found.status_code == 200
    assert "dev-login:elena" in found.text
    assert 'data-action="application.read"' in found.text
    assert review.id  # the licensing review waits for the inspection; nobody else read
    exported = await client.get(
        "/backoffice/audit/export.jsonl?person=alice&reads=true", headers=ada
    )
    lines = [json.loads(line) for line in exported.text.splitlines()]
    assert lines
    assert all(line["action"].endswith(".read") for line in lines)
    assert {line["actor"] for line in lines} >= {"dev-login:elena"}

    chain = await client.get(f"/backoffice/audit/export.jsonl?application={app_id}", headers=ada)
    kinds = {json.loads(line)["type"] for line in chain.text.splitlines()}
    assert "entry" in kinds
    bad = await client.get("/backoffice/audit?since=2027-01-02&until=2027-01-01", headers=ada)
    assert bad.status_code == 422
    assert 'href="#until"' in bad.text
    blank = await client.get("/backoffice/audit?person=alice&since=&until=", headers=ada)
    assert blank.status_code == 200  # an empty date field means no limit
    garbled = await client.get("/backoffice/audit?person=alice&since=yesterday", headers=ada)
    assert garbled.status_code == 422
    assert 'href="#since"' in garbled.text
    # Words, not ids: the action's label, the department's name; a department is found by
    # its name in either language as well as by its id.
    assert '<td class="govuk-table__cell">Application read</td>' in found.text
    by_id = await client.get("/backoffice/audit?department=environment", headers=ada)
    by_name = await client.get("/backoffice/audit?department=Environment+Department", headers=ada)
    by_zh = await client.get("/backoffice/audit?department=环境局", headers=ada)
    rows = by_id.text.count('<tr class="govuk-table__row" data-action=')
    assert rows > 0
    assert by_name.text.count('<tr class="govuk-table__row" data-action=') == rows
    assert by_zh.text.count('<tr class="govuk-table__row" data-action=') == rows
    assert '<td class="govuk-table__cell">Environment Department</td>' in by_name.text
    # A member of staff is found by the name the pages show, as by their id.
    for field in ("officer", "person"):
        by_subject = await client.get(f"/backoffice/audit?{field}=elena", headers=ada)
        by_person = await client.get(f"/backoffice/audit?{field}=elena+rossi", headers=ada)
        count = by_subject.text.count('<tr class="govuk-table__row" data-action=')
        assert count > 0, field
        assert by_person.text.count('<tr class="govuk-table__row" data-action=') == count, field
    verified = await client.get("/backoffice/audit/verification", headers=ada)
    assert "The audit trail is intact" in verified.text
    assert (
        await client.get("/backoffice/audit?person=alice", headers=as_persona("elena"))
    ).status_code == 403


async def test_sam_sees_versions_the_journey_tests_and_what_if(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    await submit(container, "sam-1")
    await drain(runner)
    sam = as_persona("sam")
    page = await client.get("/backoffice/services", headers=sam)
    assert page.status_code == 200
    assert "/backoffice/services/open-a-restaurant/versions/5" in page.text
    assert "local-admin/licence-fee" in page.text
    assert "environment/inspection-routing" not in page.text  # another department's model
    journey = await client.get("/backoffice/services/open-a-restaurant/versions/5", headers=sam)
    assert journey.status_code == 200
    assert "<svg" in journey.text
    what_if = await client.get(
        "/backoffice/rules/what-if?model=local-admin/zoning-eligibility&version=1", headers=sam
    )
    assert what_if.status_code == 200
    assert 'id="changed">0<' in what_if.text
    # the department's rule table, readable on screen: its rows in words, its cells as written
    fee = await client.get(
        "/backoffice/rules/what-if?model=local-admin/licence-fee&version=1", headers=sam
    )
    tables = fee.text.split('id="rule-tables"', 1)[1]
    assert "Licence fee table</caption>" in tables
    assert '<th scope="col" class="govuk-table__header">Seats</th>' in tables
    assert '<th scope="row" class="govuk-table__header">Up to 20 seats: micro band</th>' in tables
    assert '<td class="govuk-table__cell">&lt;= 20</td>' in tables
    assert '<td class="govuk-table__cell">micro</td>' in tables
    assert "&#34;micro&#34;" not in tables
    assert "in_seating" not in tables
    zh = await client.get(
        "/backoffice/rules/what-if?model=local-admin/licence-fee&version=1",
        headers={**sam, "Cookie": "civicloom_lang=zh-Hans"},
    )
    assert '<h2 class="govuk-heading-m">规则表</h2>' in zh.text
    missing = await client.get("/backoffice/rules/what-if?model=tax/nothing&version=1", headers=sam)
    assert missing.status_code == 404
