"""Case engine transitions. Each function runs inside the caller's transaction and writes the
state change together with its timeline entry, audit entry and outbox rows."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.applications.domain import ApplicationState, TaskState
from civicloom.applications.graph import condition_holds, resolve, retry_policy
from civicloom.applications.tables import ApplicationRow, TaskRow, TimelineRow
from civicloom.audit import AuditRecord, append_audit
from civicloom.catalogue import (
    Blueprint,
    DecisionCall,
    Sla,
    Step,
    StepGraph,
    get_blueprint_version,
    step_graph,
)
from civicloom.db import notify_on_commit
from civicloom.kernel import add_working_days, new_id
from civicloom.outbox import CloudEvent, enqueue_event
from civicloom.rules import Decision, evaluate, record_decision

EVENT_SOURCE = "urn:civicloom:applications"
NOTIFY_CHANNEL = "civicloom_work"
ENGINE_ACTOR = "system:case-engine"
_AUTO_KINDS = frozenset({"automated", "timer", "issue_document"})


# Published blueprint versions never change, so their parsed form and graph can be kept.
_PINNED: dict[str, tuple[Blueprint, StepGraph]] = {}


class CaseContext:
    """An application, its pinned blueprint's graph and all its tasks, loaded once."""

    def __init__(
        self,
        app: ApplicationRow,
        blueprint: Blueprint,
        tasks: list[TaskRow],
        graph: StepGraph | None = None,
    ) -> None:
        self.app = app
        self.blueprint = blueprint
        self.graph: StepGraph = graph or step_graph(blueprint)
        self.tasks = {t.step_id: t for t in tasks}

    def expression_context(self) -> dict[str, Any]:
        """What step inputs and conditions may refer to."""
        return {
            "data": self.app.data,
            "steps": {
                sid: {"state": t.state, "output": t.output or {}} for sid, t in self.tasks.items()
            },
            "decisions": dict(self.app.decisions or {}),
        }


def evaluate_declared(declaration: DecisionCall, context: dict[str, Any]) -> Decision:
    """Evaluate a blueprint's decision declaration (``{model, input}``) over a case context.

    Pure: raises ``ModelError`` before anything is written if the model cannot decide.
    """
    return evaluate(declaration.model, resolve(declaration.input, context))


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
        "decision.recorded",
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


async def _pinned(session: AsyncSession, version_id: str) -> tuple[Blueprint, StepGraph]:
    cached = _PINNED.get(version_id)
    if cached is None:
        published = await get_blueprint_version(session, version_id)
        assert published is not None, "an application's blueprint version is never deleted"
        cached = (published.blueprint, step_graph(published.blueprint))
        _PINNED[version_id] = cached
    return cached


async def load_cases(
    session: AsyncSession, application_ids: list[str], lock: bool = False
) -> dict[str, CaseContext]:
    """Load applications with their blueprints and tasks in two queries.

    With ``lock`` the application rows are locked (PostgreSQL) in id order, so concurrent
    workers finishing sibling steps of one application serialise without deadlocks.
    """
    ids = sorted(set(application_ids))
    query = select(ApplicationRow).where(ApplicationRow.id.in_(ids)).order_by(ApplicationRow.id)
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    apps = list(await session.scalars(query))
    tasks_by_app: dict[str, list[TaskRow]] = {a.id: [] for a in apps}
    for task in await session.scalars(select(TaskRow).where(TaskRow.application_id.in_(ids))):
        tasks_by_app[task.application_id].append(task)
    cases = {}
    for app in apps:
        blueprint, graph = await _pinned(session, app.blueprint_version_id)
        cases[app.id] = CaseContext(app, blueprint, tasks_by_app[app.id], graph)
    return cases


async def load_case(session: AsyncSession, application_id: str, lock: bool = False) -> CaseContext:
    """Load one application with its blueprint version and tasks (row-locked on PostgreSQL)."""
    cases = await load_cases(session, [application_id], lock)
    return cases[application_id]


def add_timeline(
    session: AsyncSession,
    app: ApplicationRow,
    now: datetime,
    event: str,
    message: str,
    task: TaskRow | None = None,
    visible: bool = True,
) -> None:
    """Append a timeline entry."""
    session.add(
        TimelineRow(
            application_id=app.id,
            at=now,
            event=event,
            step_id=task.step_id if task else None,
            department=task.department if task else None,
            message=message,
            visible_to_applicant=visible,
        )
    )


async def emit(
    session: AsyncSession,
    app: ApplicationRow,
    now: datetime,
    event_type: str,
    data: dict[str, Any],
    key: str,
) -> None:
    """Write a CloudEvent about the application to the outbox."""
    await enqueue_event(
        session,
        CloudEvent(
            type=f"civicloom.{event_type}",
            source=EVENT_SOURCE,
            subject=app.id,
            time=now,
            data={"application_id": app.id, "reference": app.reference, **data},
        ),
        key=key,
    )


async def audit(
    session: AsyncSession,
    actor: str,
    action: str,
    app: ApplicationRow,
    now: datetime,
    department: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append an audit entry about the application."""
    await append_audit(
        session,
        AuditRecord(
            actor=actor,
            action=action,
            subject_type="application",
            subject_id=app.id,
            occurred_at=now,
            department=department,
            details=details or {},
        ),
    )


async def wake_workers(session: AsyncSession) -> None:
    """Wake listening workers when this transaction commits (one NOTIFY per transaction)."""
    notify_on_commit(session, NOTIFY_CHANNEL)


def _title(step: Step, fallback: str) -> str:
    return step.title.en if step.title else fallback


def _after_duration(sla: Sla | None, now: datetime) -> datetime | None:
    if sla is None:
        return None
    if sla.seconds is not None:
        return now + timedelta(seconds=sla.seconds)
    if sla.working_days is not None:
        return add_working_days(now, sla.working_days)
    return None


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span (the submission's), kept so every step of the
    case continues the same trace when a worker runs it later."""
    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier)
    return carrier.get("traceparent")


async def start_case(
    session: AsyncSession, app: ApplicationRow, blueprint: Blueprint, now: datetime
) -> None:
    """Create a task per step, start the roots, set the legal deadline."""
    graph = step_graph(blueprint)
    days = (blueprint.model_extra or {}).get("legal_deadline_working_days")
    if days:
        app.deadline_at = add_working_days(now, int(days))
    tasks = []
    for spec in graph.steps.values():
        task = TaskRow(
            id=new_id(),
            application_id=app.id,
            step_id=spec.id,
            kind=spec.kind,
            department=spec.department,
            role=spec.role,
            capability=spec.capability,
            retry_policy=retry_policy(spec),
            state=TaskState.WAITING.value,
            attempts=0,
            idempotency_key=f"{app.id}:{spec.id}",
            traceparent=current_traceparent(),
            created_at=now,
            updated_at=now,
        )
        session.add(task)
        tasks.append(task)
    await session.flush()
    case = CaseContext(app, blueprint, tasks)
    if not graph.steps:
        return
    app.state = ApplicationState.IN_PROGRESS.value
    fees = (blueprint.model_extra or {}).get("fees")
    if fees:
        decision = evaluate_declared(DecisionCall.model_validate(fees), case.expression_context())
        await keep_decision(session, case, "fees", decision, now)
    for step_id in graph.roots():
        await activate(session, case, case.tasks[step_id], now)


async def activate(session: AsyncSession, case: CaseContext, task: TaskRow, now: datetime) -> None:
    """A step whose predecessors are done: skip it, queue it, or hand it to a person."""
    spec = case.graph.steps[task.step_id]
    ctx = case.expression_context()
    if not condition_holds(spec.when, ctx):
        task.state, task.completed_at, task.updated_at = TaskState.SKIPPED.value, now, now
        add_timeline(
            session, case.app, now, "step.skipped", f"{spec.id}: not needed", task, visible=False
        )
        await after_step(session, case, task, now)
        return
    task.input = resolve(spec.input, ctx)
    task.sla_due_at = _after_duration(spec.sla, now)
    task.activated_at = now
    task.updated_at = now
    if spec.kind in _AUTO_KINDS:
        task.state = TaskState.READY.value
        wake = _after_duration(spec.duration, now) if spec.kind == "timer" else None
        task.due_at = wake or now
        await wake_workers(session)
    elif spec.kind == "notify":
        # The notification itself leaves through the outbox; the step is done once it is queued.
        await emit(
            session,
            case.app,
            now,
            "notification.requested",
            {
                "template": spec.template,
                "event": spec.id,
                "recipient": case.app.applicant_id,
                "step": spec.id,
            },
            key=f"notify:{task.id}",
        )
        task.state, task.completed_at = TaskState.COMPLETED.value, now
        await after_step(session, case, task, now)
    elif spec.kind == "officer_review":
        task.state = TaskState.AWAITING_OFFICER.value
        add_timeline(
            session,
            case.app,
            now,
            "step.review",
            f"{spec.department}: with an officer for review",
            task,
        )
        await emit(
            session,
            case.app,
            now,
            "task.created",
            {"task_id": task.id, "step": spec.id, "department": spec.department, "role": spec.role},
            key=f"task.created:{task.id}",
        )
    elif spec.kind == "payment":
        # The payments service completes this step when the provider confirms the payment.
        task.state = TaskState.AWAITING_EXTERNAL.value
        amount = (task.input or {}).get("amount")
        currency = (task.input or {}).get("currency", "")
        add_timeline(
            session,
            case.app,
            now,
            "payment.requested",
            f"Pay the fee of {amount} {currency}".strip(),
            task,
        )
        await emit(
            session,
            case.app,
            now,
            "payment.requested",
            {
                "task_id": task.id,
                "amount": amount,
                "currency": currency,
                "payment_key": task.idempotency_key,
            },
            key=f"payment.requested:{task.id}",
        )
    elif spec.kind == "applicant_action":
        task.state = TaskState.AWAITING_APPLICANT.value
        case.app.state = ApplicationState.AWAITING_APPLICANT.value
        add_timeline(
            session,
            case.app,
            now,
            "applicant.action",
            _title(spec, "Your action is needed"),
            task,
        )
    else:
        raise ValueError(f"unknown step kind {spec.kind!r}")


async def after_step(
    session: AsyncSession, case: CaseContext, task: TaskRow, now: datetime
) -> None:
    """After a step finished: reject if its rule says so, start successors, or decide the case."""
    app = case.app
    if ApplicationState(app.state).is_final:
        return
    spec = case.graph.steps[task.step_id]
    if (
        task.state == TaskState.COMPLETED.value
        and spec.reject_when
        and condition_holds(spec.reject_when, case.expression_context())
    ):
        reason = f"{_title(spec, spec.id)} did not allow the application"
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
    """Decide the application; every open step is cancelled."""
    app = case.app
    for t in case.tasks.values():
        if not TaskState(t.state).is_terminal:
            t.state, t.updated_at, t.lease_owner, t.lease_until = (
                TaskState.CANCELLED.value,
                now,
                None,
                None,
            )
    app.state, app.decided_at, app.updated_at, app.outcome_reason = outcome.value, now, now, reason
    messages = {
        ApplicationState.APPROVED: "Your application has been approved",
        ApplicationState.REJECTED: f"Your application was refused: {reason}",
        ApplicationState.WITHDRAWN: "You withdrew your application",
        ApplicationState.FAILED: f"Your application could not be completed: {reason}",
    }
    add_timeline(session, app, now, f"application.{outcome.value}", messages[outcome])
    await emit(
        session,
        app,
        now,
        f"application.{outcome.value}",
        {"reason": reason},
        key=f"application.{outcome.value}:{app.id}",
    )
    await audit(
        session, actor, f"application.{outcome.value}", app, now, details={"reason": reason}
    )
