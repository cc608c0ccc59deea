"""Reviews of refusals (ADR 0059), attacks first: who must NOT be able to ask for or decide a
review, then the case going on through the real engine after an overturn.

Olivia (licensing officer, local-admin) refuses Alice's licensing review; Nora (her colleague
with the same role) and Grace (supervisor) may review it; Felix (local-admin, no licensing
role) may not; Elena (environment) does not see it; Bob (another citizen) cannot ask.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from civicloom.applications import (
    ApplicationState,
    ReviewDecision,
    ReviewWindowClosed,
    StepRunner,
    review_window,
    withdraw_application,
)
from civicloom.applications.casework import Forbidden
from civicloom.applications.tables import ApplicationRow, ReviewRow, TaskRow, TimelineRow
from civicloom.audit.tables import AuditEntryRow
from civicloom.catalogue import CALENDARS
from civicloom.kernel import Conflict, FixedClock, NotFound, ValidationFailed
from civicloom.outbox.tables import OutboxRow
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.backoffice.refusal import ask_review, decide, refuse, refused
from tests.integration.backoffice.world import Departments, drain, persona, submit, task_of


async def _snapshot(container: Container, app_id: str) -> dict[str, Any]:
    """Everything a refused request must leave alone."""
    async with container.uow() as uow:
        s = uow.session
        app = await s.get(ApplicationRow, app_id)
        assert app is not None
        return {
            "app": (app.state, app.decided_at, app.outcome_reason),
            "reviews": list(
                await s.execute(
                    select(ReviewRow.id, ReviewRow.state).where(ReviewRow.application_id == app_id)
                )
            ),
            "tasks": sorted(
                (t.step_id, t.state)
                for t in await s.scalars(select(TaskRow).where(TaskRow.application_id == app_id))
            ),
            "audit": await s.scalar(
                select(func.count())
                .select_from(AuditEntryRow)
                .where(AuditEntryRow.subject_id == app_id)
            ),
            "timeline": await s.scalar(
                select(func.count())
                .select_from(TimelineRow)
                .where(TimelineRow.application_id == app_id)
            ),
            "outbox": await s.scalar(select(func.count()).select_from(OutboxRow)),
        }


async def _ask(container: Container, app_id: str, who: str = "alice") -> str:
    return (await ask_review(container, app_id, who=who)).id


async def test_another_citizen_cannot_ask_for_a_review_of_someone_elses_refusal(
    container: Container, runner: StepRunner
) -> None:
    app_id = await refused(container, runner, "rv-other")
    before = await _snapshot(container, app_id)
    with pytest.raises(NotFound):
        await _ask(container, app_id, who="bob")
    assert await _snapshot(container, app_id) == before


async def test_a_second_request_for_the_same_refusal_creates_nothing(
    container: Container, runner: StepRunner
) -> None:
    app_id = await refused(container, runner, "rv-replay")
    first = await _ask(container, app_id)
    before = await _snapshot(container, app_id)
    with pytest.raises(Conflict):
        await _ask(container, app_id)
    after = await _snapshot(container, app_id)
    assert after == before
    assert after["reviews"] == [(first, "requested")]


async def test_a_request_after_the_window_is_refused(
    container: Container, runner: StepRunner
) -> None:
    app_id = await refused(container, runner, "rv-late")
    async with container.uow() as uow:
        app = await uow.session.get(ApplicationRow, app_id)
        assert app is not None
        assert app.decided_at is not None
        refused_at = app.decided_at
    calendar = container.get(CALENDARS).of("riverton")
    last_day = review_window(calendar, refused_at, refused_at).last_day
    assert last_day >= (refused_at + timedelta(days=30)).date()
    late = FixedClock(datetime.combine(last_day + timedelta(days=1), datetime.min.time(), UTC))
    before = await _snapshot(container, app_id)
    with pytest.raises(ReviewWindowClosed):
        await ask_review(container, app_id, "Please look again.", clock=late)
    assert await _snapshot(container, app_id) == before
    on_time = FixedClock(datetime.combine(last_day, datetime.min.time(), UTC) + timedelta(hours=23))
    review = await ask_review(container, app_id, "Please look again.", clock=on_time)
    assert review.state.value == "requested"


async def test_an_application_that_was_not_refused_cannot_be_reviewed(
    container: Container, runner: StepRunner
) -> None:
    app_id = await submit(container, "rv-running")
    await drain(runner)
    before = await _snapshot(container, app_id)
    with pytest.raises(Conflict):
        await _ask(container, app_id)
    assert await _snapshot(container, app_id) == before


async def test_a_reason_is_required_and_checked(container: Container, runner: StepRunner) -> None:
    app_id = await refused(container, runner, "rv-reason")
    before = await _snapshot(container, app_id)
    cases = (("  ", "required"), ("x" * 2001, "max-length"), ("a\u202eb", "bidi-control"))
    for text, rule in cases:
        with pytest.raises(ValidationFailed) as failed:
            await ask_review(container, app_id, text)
        assert [(e.field, e.rule) for e in failed.value.errors] == [("reason", rule)]
    assert await _snapshot(container, app_id) == before


# Who decides a review of Olivia's refusal: persona -> what happens.
DECIDE = [
    ("olivia", Forbidden),  # she refused: four eyes
    ("felix", Forbidden),  # local-admin, but neither licensing officer nor supervisor
    ("elena", NotFound),  # another department's officer
    ("tariq", NotFound),
    ("alice", NotFound),  # the applicant herself
]


async def test_only_another_reviewer_of_the_refusing_department_decides(
    container: Container, runner: StepRunner
) -> None:
    app_id = await refused(container, runner, "rv-who")
    review_id = await _ask(container, app_id)
    for who, error in DECIDE:
        before = await _snapshot(container, app_id)
        with pytest.raises(error):
            await decide(container, who, review_id, ReviewDecision.OVERTURN, "Looks fine")
        assert await _snapshot(container, app_id) == before, who
    upheld = await decide(
        container,
        "grace",
        review_id,
        ReviewDecision.UPHOLD,
        "The parcel is residential in the current zoning plan",
    )
    assert upheld.state.value == "upheld"
    assert upheld.decided_by == "grace"
    with pytest.raises(Conflict):  # decided once
        await decide(container, "nora", review_id, ReviewDecision.OVERTURN, "Looks fine")
    state = await _snapshot(container, app_id)
    assert state["app"][0] == "rejected"
    async with container.uow() as uow:
        topics = list(
            await uow.session.scalars(
                select(OutboxRow.topic).where(OutboxRow.topic.like("civicloom.review.%"))
            )
        )
        actions = list(
            await uow.session.scalars(
                select(AuditEntryRow.action)
                .where(AuditEntryRow.subject_id == app_id, AuditEntryRow.action.like("review.%"))
                .order_by(AuditEntryRow.position)
            )
        )
    assert sorted(topics) == ["civicloom.review.requested", "civicloom.review.upheld"]
    assert actions == ["review.requested", "review.upheld"]


async def test_an_overturned_refusal_goes_on_to_payment_through_the_engine(
    container: Container, runner: StepRunner
) -> None:
    app_id = await refused(container, runner, "rv-overturn")
    review_id = await _ask(container, app_id)
    await decide(
        container,
        "nora",
        review_id,
        ReviewDecision.OVERTURN,
        "The zoning map was corrected in 2025",
    )
    await drain(runner)
    state = await _snapshot(container, app_id)
    assert state["app"] == ("in_progress", None, None)
    steps = dict(state["tasks"])
    assert steps["licensing_review"] == "completed"
    assert steps["payment"] == "awaiting_external"  # the fee is now due
    assert steps["licence"] == "waiting"
    review = await task_of(container, app_id, "licensing_review")
    assert review.output is not None
    assert review.output["decision"] == "approved"
    assert review.output["by"] == "nora"


async def test_an_overturn_weeks_later_does_not_count_the_weeks_against_the_legal_deadline(
    container: Container, runner: StepRunner
) -> None:
    """Attack review: an overturn after the legal deadline had passed left the deadline in the
    past, and the next sweep took the case for one left undecided (a deemed approval skipping
    the fee on a service that declares one). The weeks under review do not count."""
    app_id = await refused(container, runner, "rv-deadline")
    async with container.uow() as uow:
        app = await uow.session.get(ApplicationRow, app_id)
        assert app is not None
        assert app.deadline_at is not None
        assert app.decided_at is not None
        refused_at, old_deadline = app.decided_at, app.deadline_at
    review_id = await _ask(container, app_id)
    weeks_later = FixedClock(old_deadline + timedelta(days=3))
    assert weeks_later.now() > old_deadline  # without the fix, the deadline has passed
    await decide(
        container,
        "nora",
        review_id,
        ReviewDecision.OVERTURN,
        "The zoning map was corrected in 2025",
        clock=weeks_later,
    )
    calendar = container.get(CALENDARS).of("riverton")  # the blueprint's calendar
    async with container.uow() as uow:
        app = await uow.session.get(ApplicationRow, app_id)
        assert app is not None
        assert app.deadline_at is not None
        assert app.deadline_at > weeks_later.now()
        assert app.clock_stopped_at is None
        left_at_refusal = calendar.working_days_between(refused_at, old_deadline)
        assert calendar.working_days_between(weeks_later.now(), app.deadline_at) == left_at_refusal


async def test_a_refusal_by_a_rule_is_overturned_without_applying_the_rule_again(
    container: Container, departments: Departments
) -> None:
    # The tax authority does not clear the business: the tax step's rule refuses.
    from civicloom.departments import InProcessGateway

    gateway = departments.gateway()
    assert isinstance(gateway, InProcessGateway)

    async def not_cleared(_: Any) -> dict[str, Any]:
        return {"status": "arrears"}

    gateway.functions["tax.clearance_check"] = not_cleared
    rule_runner = StepRunner(container, gateway)
    app_id = await submit(container, "rv-rule")
    await drain(rule_runner)
    assert (await _snapshot(container, app_id))["app"][0] == "rejected"
    review_id = await _ask(container, app_id)
    # any licensing officer of the tax step's department? The tax step belongs to "tax".
    with pytest.raises(NotFound):
        await decide(container, "nora", review_id, ReviewDecision.OVERTURN, "x")
    await decide(
        container,
        "tariq",
        review_id,
        ReviewDecision.OVERTURN,
        "The arrears were paid before the check",
    )
    await drain(rule_runner)
    state = await _snapshot(container, app_id)
    assert state["app"][0] == "in_progress"
    assert dict(state["tasks"])["licensing_review"] == "awaiting_officer"

    # Attack review: refused again after the overturn, the applicant is told again (a second
    # refusal event, with its own reason and a new review window), not silently dropped.
    await refuse(container, app_id, "second refusal")
    async with container.uow() as uow:
        reasons = [
            m.payload["data"]["reason"]
            for m in await uow.session.scalars(
                select(OutboxRow)
                .where(OutboxRow.topic == "civicloom.application.rejected")
                .order_by(OutboxRow.id)
            )
            if m.payload["data"]["application_id"] == app_id
        ]
    assert len(reasons) == 2
    assert reasons[1] == "second refusal"


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_an_overturn_racing_a_withdrawal_leaves_one_consistent_case(
    container: Container, runner: StepRunner
) -> None:
    for round_ in range(3):
        app_id = await refused(container, runner, f"rv-race-{round_}")
        review_id = await _ask(container, app_id)
        results = await asyncio.gather(
            decide(container, "nora", review_id, ReviewDecision.OVERTURN, "Zoning corrected"),
            withdraw_application(
                container.uow(), container.clock, persona(container, "alice"), app_id
            ),
            return_exceptions=True,
        )
        overturned, withdrawn = results
        assert not isinstance(overturned, BaseException), overturned
        state = await _snapshot(container, app_id)
        if isinstance(withdrawn, BaseException):
            # the withdrawal came first, saw a refused application and changed nothing
            assert isinstance(withdrawn, Conflict)
            assert state["app"][0] == ApplicationState.IN_PROGRESS.value
        else:  # the overturn came first: the withdrawal then ended the reopened case
            assert state["app"][0] == ApplicationState.WITHDRAWN.value
            assert all(s in ("completed", "skipped", "cancelled") for _, s in state["tasks"])
        assert state["reviews"] == [(review_id, "overturned")]


async def test_the_pages_refuse_the_same_people(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    app_id = await refused(container, runner, "rv-http")
    bob = await client.post(
        f"/applications/{app_id}/review",
        data={"reason": "mine now"},
        headers=as_persona("bob"),
    )
    assert bob.status_code == 404
    review_id = await _ask(container, app_id)
    for who, status in (("olivia", 403), ("elena", 404), ("felix", 403), ("nora", 303)):
        got = await client.post(
            f"/backoffice/reviews/{review_id}",
            data={"decision": "uphold", "reason": "The zoning plan is current"},
            headers=as_persona(who),
        )
        assert got.status_code == status, f"{who}: {got.status_code} {got.text[:300]}"
