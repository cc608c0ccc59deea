"""Case engine transitions. Each function runs inside the caller's transaction and writes the
state change together with its timeline entry, audit entry and outbox rows."""

from __future__ import annotations

from datetime import date, datetime
from secrets import token_urlsafe
from typing import Any

from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.applications.case import (
    AuditNote,
    CaseContext,
    EventNote,
    TimelineNote,
    add_timeline,
    audit,
    record_case_change,
)
from civicloom.applications.deadlines import case_calendar, remind_at
from civicloom.applications.domain import STEP_REFUSAL, ApplicationState, TaskState
from civicloom.applications.graph import condition_holds, retry_policy
from civicloom.applications.retention import schedule_purge
from civicloom.applications.steps import Activation, due_after, step_kinds, title_of
from civicloom.applications.tables import ApplicationRow, DeadLetterRow, TaskRow
from civicloom.audit import AuditAction
from civicloom.catalogue import (
    Blueprint,
    DecisionCall,
    DecisionDay,
    Step,
    resolve,
    step_graph,
)
from civicloom.kernel import new_id
from civicloom.outbox import EventType
from civicloom.rules import RULE_BOOK, Decision, evaluate, record_decision
from civicloom.runtime import lent

ENGINE_ACTOR = "system:case-engine"
CLOSED_WITH_CASE = "closed"  # a dead letter's resolution when its case finished first
# How a decided case is published and audited.
_OUTCOMES: dict[ApplicationState, tuple[EventType, AuditAction]] = {
    ApplicationState.APPROVED: (EventType.APPLICATION_APPROVED, AuditAction.APPLICATION_APPROVED),
    ApplicationState.REJECTED: (EventType.APPLICATION_REJECTED, AuditAction.APPLICATION_REJECTED),
    ApplicationState.WITHDRAWN: (
        EventType.APPLICATION_WITHDRAWN,
        AuditAction.APPLICATION_WITHDRAWN,
    ),
    ApplicationState.FAILED: (EventType.APPLICATION_FAILED, AuditAction.APPLICATION_FAILED),
}


def decision_day(declaration: DecisionCall, app: ApplicationRow, now: datetime) -> date:
    """The day whose model version decides: the application's submission (the law in force
    when the applicant applied), or the day of the decision where the blueprint says so."""
    if declaration.on is DecisionDay.DECISION:
        return now.date()
    return app.submitted_at.date()


def evaluate_declared(
    session: AsyncSession,
    declaration: DecisionCall,
    context: dict[str, Any],
    app: ApplicationRow,
    now: datetime,
) -> Decision:
    """Evaluate a blueprint's decision declaration (``{model, input}``) over a case context,
    with the container's rule book and the model version in effect on ``decision_day``.

    Raises ``ModelError`` before anything is written if the model cannot decide.
    """
    return evaluate(
        declaration.model,
        resolve(declaration.input, context),
        book=lent(session, RULE_BOOK),
        on=decision_day(declaration, app, now),
    )


async def keep_decision(
    session: AsyncSession, case: CaseContext, key: str, decision: Decision, now: datetime
) -> None:
    """Record a decision about the application (model version, inputs, rules fired) and make
    its output available to conditions as ``decisions.<key>``."""
    await record_decision(session, case.app.id, key, decision, now)
    case.app.decisions = {**(case.app.decisions or {}), key: decision.output}
    await audit(
        session,
        ENGINE_ACTOR,
        AuditAction.DECISION_RECORDED,
        case.app,
        now,
        decision.department,
        {
            "purpose": key,
            "model": decision.model,
            "version": decision.version,
            "rules": [r.as_json() for r in decision.rules],
        },
    )


def correlation_key() -> str:
    """A task's idempotency key, the correlation id its department echoes (ADR 0032).

    192 random bits, stored on the task and never derived from the application or the step,
    so knowing one task's key (or the case id) tells nothing about another's.
    """
    return token_urlsafe(24)


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span (the submission's), kept so every step of the
    case continues the same trace when a worker runs it later."""
    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier)
    return carrier.get("traceparent")


def new_task(application_id: str, spec: Step, now: datetime) -> TaskRow:
    """A step's task, waiting for its predecessors, with a fresh correlation key."""
    return TaskRow(
        id=new_id(),
        application_id=application_id,
        step_id=spec.id,
        kind=spec.kind,
        department=spec.department,
        role=spec.role,
        capability=spec.capability,
        retry_policy=retry_policy(spec),
        state=TaskState.WAITING.value,
        attempts=0,
        idempotency_key=correlation_key(),
        traceparent=current_traceparent(),
        created_at=now,
        updated_at=now,
    )


async def start_case(
    session: AsyncSession, app: ApplicationRow, blueprint: Blueprint, now: datetime
) -> None:
    """Create a task per step, start the roots, set the legal deadline."""
    graph = step_graph(blueprint)
    step_kinds().require(s.kind for s in graph.steps.values())  # or the case does not start
    if blueprint.legal_deadline_working_days:
        calendar = case_calendar(session, blueprint)
        app.deadline_at = calendar.add_working_days(now, blueprint.legal_deadline_working_days)
    tasks = []
    for spec in graph.steps.values():
        task = new_task(app.id, spec, now)
        session.add(task)
        tasks.append(task)
    await session.flush()
    case = CaseContext(app, blueprint, tasks)
    if not graph.steps:
        return
    app.state = ApplicationState.IN_PROGRESS.value
    if blueprint.fees is not None:
        decision = evaluate_declared(session, blueprint.fees, case.expression_context(), app, now)
        await keep_decision(session, case, "fees", decision, now)
    for step_id in graph.roots():
        await activate(session, case, case.tasks[step_id], now)


async def activate(session: AsyncSession, case: CaseContext, task: TaskRow, now: datetime) -> None:
    """A step whose predecessors are done: skip it, or activate it through its kind's handler
    (queue it for a worker, hand it to a person, or finish it at once)."""
    spec = case.graph.steps[task.step_id]
    handler = step_kinds()[spec.kind]  # UnknownStepKind before anything changes
    ctx = case.expression_context()
    if not condition_holds(spec.when, ctx):
        task.state, task.completed_at, task.updated_at = TaskState.SKIPPED.value, now, now
        add_timeline(
            session, case.app, now, "step.skipped", f"{spec.id}: not needed", task, visible=False
        )
        await after_step(session, case, task, now)
        return
    task.input = resolve(spec.input, ctx)
    task.sla_due_at = due_after(spec.sla, now, case_calendar(session, case.blueprint))
    task.remind_at = remind_at(now, task.sla_due_at)
    task.activated_at = now
    task.updated_at = now
    if await handler.activate(session, case, task, spec, now) is Activation.DONE:
        await after_step(session, case, task, now)


async def after_step(
    session: AsyncSession,
    case: CaseContext,
    task: TaskRow,
    now: datetime,
    *,
    overruled: bool = False,
) -> None:
    """After a step finished: reject if its rule says so, start successors, or decide the case.

    ``overruled``: a review overturned this step's refusal (ADR 0059), so its ``reject_when``
    is not applied again; the case goes on from the step."""
    app = case.app
    if ApplicationState(app.state).is_final:
        return
    spec = case.graph.steps[task.step_id]
    if (
        not overruled
        and task.state == TaskState.COMPLETED.value
        and spec.reject_when
        and condition_holds(spec.reject_when, case.expression_context())
    ):
        reason = STEP_REFUSAL.en.format(step=title_of(spec, spec.id))
        await finish_case(session, case, ApplicationState.REJECTED, reason, now, actor=ENGINE_ACTOR)
        return
    done = {sid for sid, t in case.tasks.items() if TaskState(t.state).is_terminal}
    for successor_id in sorted(case.graph.dependents.get(task.step_id, ())):
        successor = case.graph.steps[successor_id]
        succ_task = case.tasks[successor_id]
        if succ_task.state == TaskState.WAITING.value and set(successor.after) <= done:
            await activate(session, case, succ_task, now)
    done = {sid for sid, t in case.tasks.items() if TaskState(t.state).is_terminal}
    if done == set(case.tasks):
        await finish_case(session, case, ApplicationState.APPROVED, None, now, actor=ENGINE_ACTOR)
    elif app.state == ApplicationState.AWAITING_APPLICANT.value and not any(
        t.state == TaskState.AWAITING_APPLICANT.value for t in case.tasks.values()
    ):
        app.state = ApplicationState.IN_PROGRESS.value


async def finish_case(
    session: AsyncSession,
    case: CaseContext,
    outcome: ApplicationState,
    reason: str | None,
    now: datetime,
    actor: str,
) -> None:
    """Decide the application; every open step (a timer, a retry, a dead-lettered call) is
    cancelled and every open dead letter of the case is closed: nothing of it runs again."""
    app = case.app
    if any(t.state == TaskState.FAILED.value for t in case.tasks.values()):
        await close_dead_letters(session, app.id, now, actor)  # only failed steps have any open
    for t in case.tasks.values():
        if not TaskState(t.state).is_terminal:
            t.state, t.updated_at, t.lease_owner, t.lease_until = (
                TaskState.CANCELLED.value,
                now,
                None,
                None,
            )
    app.state, app.decided_at, app.updated_at, app.outcome_reason = outcome.value, now, now, reason
    schedule_purge(app, case.blueprint, now)
    messages = {
        ApplicationState.APPROVED: "Your application has been approved",
        ApplicationState.REJECTED: f"Your application was refused: {reason}",
        ApplicationState.WITHDRAWN: "You withdrew your application",
        ApplicationState.FAILED: f"Your application could not be completed: {reason}",
    }
    event_type, action = _OUTCOMES[outcome]
    await record_case_change(
        session,
        app,
        now,
        timeline=TimelineNote(f"application.{outcome.value}", messages[outcome]),
        # one event per decision: a case reopened by a review and decided again is announced
        # again (the state guard, not the key, keeps one decision from being recorded twice)
        event=EventNote(
            event_type,
            {"reason": reason},
            key=f"application.{outcome.value}:{app.id}:{new_id()}",
        ),
        audit=AuditNote(actor, action, details={"reason": reason}),
    )


async def close_dead_letters(
    session: AsyncSession, application_id: str, now: datetime, actor: str
) -> None:
    """A finished case's dead letters are closed: no operator re-drives or abandons them."""
    await session.execute(
        update(DeadLetterRow)
        .where(DeadLetterRow.application_id == application_id, DeadLetterRow.resolved_at.is_(None))
        .values(resolved_at=now, resolved_by=actor, resolution=CLOSED_WITH_CASE)
        .execution_options(synchronize_session="fetch")
    )
