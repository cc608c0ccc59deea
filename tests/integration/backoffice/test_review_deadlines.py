"""The deadline of a review of a refusal (ADR 0059), with an injected clock: the staff who may
decide it are reminded two working days before the answer is due, the supervisors are told
once it is overdue; each once, never for a decided review, never twice when two sweepers race.

Alice asks on Monday 7 December 2026 at 09:00 UTC; ten working days in the Riverton calendar
make the answer due on Monday 21 December at 09:00, the reminder on Thursday 17 December."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from civicloom.applications import (
    ReviewDecision,
    StepRunner,
    sweep_review_deadlines,
)
from civicloom.applications.tables import ReviewRow
from civicloom.audit.tables import AuditEntryRow
from civicloom.kernel import FixedClock
from civicloom.notifications import plan_notifications
from civicloom.notifications.tables import DeliveryRow
from civicloom.notifications.templates import TemplateLibrary
from civicloom.outbox.tables import OutboxRow
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.backoffice.refusal import ask_review, decide, refused

ASKED = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # a Monday
REMIND = datetime(2026, 12, 17, 9, 0, tzinfo=UTC)  # 8 working days later: a Thursday
DUE = datetime(2026, 12, 21, 9, 0, tzinfo=UTC)  # 10 working days later: a Monday
MINUTE = timedelta(minutes=1)


async def _asked(container: Container, runner: StepRunner, key: str) -> tuple[str, str]:
    """Olivia refuses Alice's application; Alice asks for a review at ``ASKED``."""
    app_id = await refused(container, runner, key)
    review = await ask_review(container, app_id, clock=FixedClock(ASKED))
    return app_id, review.id


async def _sweep(container: Container, at: datetime) -> tuple[int, int]:
    return await sweep_review_deadlines(container.uow(), at)


async def _records(container: Container, app_id: str, review_id: str) -> dict[str, list[str]]:
    async with container.uow() as uow:
        keys = await uow.session.scalars(
            select(OutboxRow.key).where(OutboxRow.key.like(f"review.%:{review_id}"))
        )
        actions = await uow.session.scalars(
            select(AuditEntryRow.action)
            .where(AuditEntryRow.subject_id == app_id, AuditEntryRow.action.like("review.%"))
            .order_by(AuditEntryRow.position)
        )
        return {"outbox": sorted(keys), "audit": list(actions)}


async def _recipients(container: Container, review_id: str, topic: str) -> set[str]:
    """Plan the outbox's staff message as the worker would; who gets an e-mail."""
    async with container.uow() as uow:
        row = await uow.session.scalar(
            select(OutboxRow).where(OutboxRow.topic == topic, OutboxRow.key.like(f"%{review_id}"))
        )
    assert row is not None, topic
    await plan_notifications(container, TemplateLibrary(Path("blueprints/templates")), row.payload)
    async with container.uow() as uow:
        sent = await uow.session.scalars(
            select(DeliveryRow).where(DeliveryRow.source_key == row.payload["id"])
        )
        return {f"{d.recipient_id}:{d.channel}" for d in sent}


async def test_a_review_is_reminded_once_then_escalated_once_to_the_supervisors(
    container: Container, runner: StepRunner
) -> None:
    app_id, review_id = await _asked(container, runner, "rd-once")
    async with container.uow() as uow:
        row = await uow.session.get(ReviewRow, review_id)
        assert row is not None
        assert (row.remind_at, row.due_at) == (REMIND, DUE)

    assert await _sweep(container, REMIND - MINUTE) == (0, 0)
    assert await _sweep(container, REMIND) == (1, 0)
    assert await _sweep(container, REMIND + timedelta(hours=1)) == (0, 0)  # once
    assert await _sweep(container, DUE - MINUTE) == (0, 0)
    assert await _sweep(container, DUE) == (0, 1)
    assert await _sweep(container, DUE + timedelta(days=3)) == (0, 0)  # once

    assert await _records(container, app_id, review_id) == {
        "outbox": [
            f"review.arrived:{review_id}",
            f"review.escalated:{review_id}",
            f"review.reminder:{review_id}",
            f"review.requested:{review_id}",
        ],
        "audit": ["review.requested", "review.reminded", "review.escalated"],
    }
    # the reminder: who may decide (licensing officers, supervisors) but Olivia, who refused;
    # the escalation: the supervisors. Felix (no licensing role), Elena (environment), Alice:
    # nothing.
    reminded = await _recipients(container, review_id, "internal.review.sla_reminder")
    assert reminded == {"grace:email", "nora:email"}
    escalated = await _recipients(container, review_id, "internal.review.escalated")
    assert escalated == {"grace:email"}


async def test_a_decided_review_is_neither_reminded_nor_escalated(
    container: Container, runner: StepRunner
) -> None:
    app_id, review_id = await _asked(container, runner, "rd-decided")
    await decide(
        container,
        "grace",
        review_id,
        ReviewDecision.UPHOLD,
        "The parcel is residential in the current zoning plan",
        clock=FixedClock(ASKED + timedelta(days=1)),
    )
    assert await _sweep(container, REMIND) == (0, 0)
    assert await _sweep(container, DUE + timedelta(days=1)) == (0, 0)
    records = await _records(container, app_id, review_id)
    assert records["audit"] == ["review.requested", "review.upheld"]


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_two_sweepers_racing_remind_and_escalate_once(
    container: Container, runner: StepRunner
) -> None:
    app_id, review_id = await _asked(container, runner, "rd-race")
    reminders = await asyncio.gather(_sweep(container, REMIND), _sweep(container, REMIND))
    assert sorted(reminders) == [(0, 0), (1, 0)]
    escalations = await asyncio.gather(_sweep(container, DUE), _sweep(container, DUE))
    assert sorted(escalations) == [(0, 0), (0, 1)]
    records = await _records(container, app_id, review_id)
    assert records["audit"] == ["review.requested", "review.reminded", "review.escalated"]
    assert len(records["outbox"]) == 4


async def test_the_pages_say_when_the_answer_is_due_and_that_it_is_overdue_in_words(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    _, review_id = await _asked(container, runner, "rd-page")
    nora = {**as_persona("nora"), "Accept": "text/html"}
    chinese = {**nora, "Accept-Language": "zh-Hans"}
    for due, english, words in (
        (datetime(2099, 1, 5, 9, 0, tzinfo=UTC), "Due on 5 January 2099", "2099年1月5日 到期"),
        (datetime(2020, 1, 6, 9, 0, tzinfo=UTC), "Overdue", "已逾期"),
    ):
        async with container.uow() as uow:  # set-up only: time passing
            row = await uow.session.get(ReviewRow, review_id)
            assert row is not None
            row.due_at = due
            await uow.commit()
        for path in ("/backoffice/reviews", f"/backoffice/reviews/{review_id}"):
            page = await client.get(path, headers=nora)
            assert page.status_code == 200
            assert english in page.text, (path, english)
            assert words in (await client.get(path, headers=chinese)).text, (path, words)
