"""Every link in a message lands on a real page for its recipient (issue 19).

Each message an applicant or officer gets about a real application is rendered as the platform
renders it (their language, the blueprint's words); every link in it is followed as the
recipient would, signed in (a page, not an error) and signed out (to sign-in, then back).
Messages name steps by their titles, never by their ids."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select

from civicloom.applications import StepRunner
from civicloom.notifications import plan_notifications
from civicloom.notifications.tables import DeliveryRow
from civicloom.notifications.templates import TemplateLibrary
from civicloom.outbox import EventType
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.backoffice.conftest import departments, runner
from tests.integration.backoffice.world import drain, submit, task_of

__all__ = ["departments", "runner"]  # the back-office world's fixtures
LINK = re.compile(r"https?://[^\s<>\"]+")


async def messages_for(
    container: Container, kind: EventType, data: dict[str, object]
) -> list[DeliveryRow]:
    library = TemplateLibrary(Path("blueprints/templates"))
    async with container.uow() as uow:
        before = {r.id for r in await uow.session.scalars(select(DeliveryRow))}
    event = {"id": f"evt-{kind.value}", "type": kind.value, "data": data}
    planned = await plan_notifications(container, library, event)
    assert planned > 0, kind
    async with container.uow() as uow:
        rows = list(await uow.session.scalars(select(DeliveryRow)))
    return [r for r in rows if r.id not in before]


async def test_every_link_in_a_message_lands_on_a_page_for_its_recipient(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    app_id = await submit(container, "links-1", seating=40)
    await drain(runner)
    review = await task_of(container, app_id, "licensing_review")
    common = {"application_id": app_id}
    task: dict[str, object] = {
        "task_id": review.id,
        "step": "licensing_review",
        "department": "local-admin",
    }
    events: list[tuple[EventType, dict[str, object]]] = [
        (EventType.APPLICATION_SUBMITTED, {}),
        (EventType.INFORMATION_REQUESTED, {"task_id": review.id, "department": "local-admin"}),
        (EventType.PAYMENT_REQUESTED, {"amount": 400, "currency": "EUR"}),
        (EventType.APPLICATION_APPROVED, {"reason": None}),
        (EventType.APPLICATION_REJECTED, {"reason": "zoning"}),
        (EventType.TASK_SLA_REMINDER, {**task, "due_at": "2026-12-09T17:00:00+00:00"}),
        (EventType.TASK_ESCALATED, task),
    ]
    followed: dict[str, set[str]] = {}
    for kind, data in events:
        for message in await messages_for(container, kind, {**common, **data}):
            assert "licensing_review" not in message.body_text, kind
            assert "licensing_review" not in message.subject, kind
            for url in LINK.findall(message.body_text):
                path = urlsplit(url.rstrip(".。,")).path
                followed.setdefault(message.recipient_id, set()).add(path)
                reader = {**as_persona(message.recipient_id), "Accept": "text/html"}
                page = await client.get(path, headers=reader, follow_redirects=True)
                assert page.status_code == 200, (kind, message.recipient_id, path)
                assert "govuk-template" in page.text
                signed_out = await client.get(path, headers={"Accept": "text/html"})
                assert signed_out.status_code == 303, (kind, path)
                assert signed_out.headers["location"].startswith("/auth/login"), (kind, path)

    assert followed["alice"] == {f"/applications/{app_id}", f"/applications/{app_id}/pay"}
    task_page = f"/backoffice/tasks/{review.id}"
    assert task_page in followed["olivia"]  # the reminder: the officers of the step's role
    assert task_page in followed["grace"]  # the escalation: the supervisor


async def test_staff_messages_read_the_step_title_and_the_due_date(
    container: Container, runner: StepRunner
) -> None:
    app_id = await submit(container, "links-2", seating=40)
    await drain(runner)
    review = await task_of(container, app_id, "licensing_review")
    rows = await messages_for(
        container,
        EventType.TASK_SLA_REMINDER,
        {
            "application_id": app_id,
            "task_id": review.id,
            "step": "licensing_review",
            "department": "local-admin",
            "due_at": "2026-12-09T17:00:00+00:00",
        },
    )
    olivia = next(r for r in rows if r.recipient_id == "olivia" and r.channel == "email")
    assert olivia.subject.startswith("Reminder: Licensing decision on ")
    assert "is due by 2026-12-09." in olivia.body_text
    assert f"/backoffice/tasks/{review.id}" in olivia.body_text
