"""Every message the platform plans reads in the recipient's language, all of it (issue 19).

Each event the notifications module handles is planned for a real application of Golden Dragon
Kitchen, as the platform plans it, to people who chose Simplified Chinese (then English) and
every channel: each e-mail (subject, text and HTML), SMS and inbox message must hold no English
words in Chinese (no fallback) and no Chinese in English."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from civicloom.applications import StepRunner
from civicloom.notifications import plan_notifications
from civicloom.notifications.domain import (
    APPLICANT_EVENTS,
    DIRECTOR_EVENTS,
    OFFICER_EVENTS,
    STEP_EVENT,
)
from civicloom.notifications.tables import DeliveryRow, PreferenceRow
from civicloom.notifications.templates import TemplateLibrary
from civicloom.outbox import EventType
from civicloom.runtime import Container
from tests.english import chinese_in, english_runs, visible_text
from tests.integration.backoffice.conftest import departments, runner
from tests.integration.backoffice.world import drain, submit, task_of

__all__ = ["departments", "runner"]  # the back-office world's fixtures
# Words a person wrote themselves: quoted as written, never translated.
OFFICER_WORDS = "Staff contracts checked"
READERS = ("alice", "olivia", "grace")  # the applicant, a licensing officer, the supervisor


async def choose(container: Container, locale: str) -> None:
    """Alice and the licensing staff read ``locale`` on every channel they have."""
    async with container.uow() as uow:
        for person in READERS:
            uow.session.add(
                PreferenceRow(
                    subject=person,
                    email=f"{person}@example.org",
                    phone="+4915550100",
                    locale=locale,
                    channels=["email", "sms", "portal"],
                    updated_at=container.clock.now(),
                )
            )
        await uow.commit()


def events(app_id: str, task_id: str) -> list[tuple[EventType, dict[str, object]]]:
    """Every event type the notifications module plans, with the data the platform sends."""
    task: dict[str, object] = {
        "task_id": task_id,
        "step": "licensing_review",
        "department": "local-admin",
    }
    planned: list[tuple[EventType, dict[str, object]]] = [
        (EventType.APPLICATION_SUBMITTED, {}),
        (EventType.INFORMATION_REQUESTED, {"task_id": task_id, "department": "local-admin"}),
        (EventType.PAYMENT_REQUESTED, {"task_id": task_id, "amount": 400, "currency": "EUR"}),
        (EventType.PAYMENT_RECEIVED, {"amount": "400.00", "currency": "EUR"}),
        (EventType.APPLICATION_APPROVED, {"reason": None}),
        # the engine's own refusal, as it stores it
        (EventType.APPLICATION_REJECTED, {"reason": "Zoning check did not allow the application"}),
        (
            EventType.LICENCE_ISSUED,
            {
                "licence_number": "LIC-2026-000042",
                "document_url": "http://testserver/api/v1/licences/LIC-2026-000042.pdf",
            },
        ),
        (EventType.REVIEW_REQUESTED, {**task, "due_on": "2026-12-30"}),
        (EventType.REVIEW_UPHELD, {"department": "local-admin", "reason": OFFICER_WORDS}),
        (EventType.REVIEW_OVERTURNED, {"department": "local-admin", "reason": OFFICER_WORDS}),
        (EventType.TASK_SLA_REMINDER, {**task, "due_at": "2026-12-09T17:00:00+00:00"}),
        (EventType.TASK_ESCALATED, task),
        (
            EventType.BUSINESS_ACTED_FOR,
            {
                "service": "open-a-restaurant",
                "service_title": "Open a restaurant",
                "registration_number": "BR-2019-004211",
                "business_name": "Golden Dragon Kitchen Ltd",
                "capacity": "delegate",
                "directors": ["alice"],
            },
        ),
        (EventType.NOTIFICATION_REQUESTED, {"template": "change-of-business-address/completed"}),
    ]
    handled = {*APPLICANT_EVENTS, *OFFICER_EVENTS, *DIRECTOR_EVENTS, STEP_EVENT}
    assert {kind for kind, _ in planned} == handled  # a new event type is added here too
    return planned


@pytest.mark.parametrize("locale", ["zh-Hans", "en"])
async def test_every_message_reads_in_the_recipients_language(
    container: Container, runner: StepRunner, locale: str
) -> None:
    app_id = await submit(container, f"words-{locale}", seating=40)
    await drain(runner)
    review = await task_of(container, app_id, "licensing_review")
    await choose(container, locale)
    library = TemplateLibrary(Path("blueprints/templates"))
    for kind, data in events(app_id, review.id):
        event = {
            "id": f"evt-{kind.value}",
            "type": kind.value,
            "data": {"application_id": app_id, **data},
        }
        assert await plan_notifications(container, library, event) > 0, kind
    async with container.uow() as uow:
        chose = DeliveryRow.recipient_id.in_(READERS)  # their colleagues read English
        rows = list(await uow.session.scalars(select(DeliveryRow).where(chose)))
    assert {r.channel for r in rows} == {"email", "sms", "portal"}
    assert {r.locale for r in rows} == {locale}
    assert len({r.template for r in rows}) == 14  # every template a person is sent
    found: dict[str, list[str]] = {}
    for row in rows:
        text = "\n".join([row.subject, row.body_text, visible_text(row.body_html, "")])
        where = f"{row.template} ({row.channel})"
        if locale == "en":
            if chinese_in(text):
                found[where] = chinese_in(text)
        elif runs := english_runs(text, (OFFICER_WORDS,), min_words=1):
            found[where] = runs
    assert found == {}
