"""The world of the tests of a review of a refusal (ADR 0059): Alice's restaurant application,
refused by Olivia (licensing officer) at the licensing review, and Alice asking for a review.

Each test builds its own: the tests decide, sweep and count reviews, outbox rows and audit
entries of the whole database, so one shared world would make them depend on each other."""

from __future__ import annotations

from civicloom.applications import (
    OfficerDecision,
    ReviewDecision,
    ReviewView,
    StepRunner,
    decide_review,
    decide_task,
    request_review,
)
from civicloom.kernel import Clock
from civicloom.runtime import Container
from tests.integration.backoffice.world import drain, persona, submit, task_of

REFUSAL = "The premises are in a residential zone"
ASKED_BECAUSE = "The zoning map was out of date."


async def refuse(container: Container, app_id: str, reason: str = REFUSAL) -> None:
    """Olivia refuses the application at its licensing review (waiting for an officer)."""
    task = await task_of(container, app_id, "licensing_review")
    await decide_task(
        container.uow(),
        container.clock,
        persona(container, "olivia"),
        task.id,
        OfficerDecision.REJECT,
        reason,
    )


async def refused(container: Container, runner: StepRunner, key: str) -> str:
    """Alice applies (idempotency ``key``), the engine runs until the licensing review waits,
    and Olivia refuses it; returns the application id."""
    app_id = await submit(container, key)
    await drain(runner)
    await refuse(container, app_id)
    return app_id


async def ask_review(
    container: Container,
    app_id: str,
    reason: str = ASKED_BECAUSE,
    *,
    who: str = "alice",
    clock: Clock | None = None,
) -> ReviewView:
    """``who`` (Alice, unless a test tries another) asks for a review of the refusal, at the
    container's time or ``clock``'s."""
    return await request_review(
        container.uow(), clock or container.clock, persona(container, who), app_id, reason
    )


async def decide(
    container: Container,
    who: str,
    review_id: str,
    decision: ReviewDecision,
    reason: str,
    *,
    clock: Clock | None = None,
) -> ReviewView:
    """``who`` decides the review (upholds or overturns the refusal), at the container's time
    or ``clock``'s."""
    return await decide_review(
        container.uow(),
        clock or container.clock,
        persona(container, who),
        review_id,
        decision,
        reason,
    )
