"""Moving an in-flight application to another version of its service, and back (ADR 0058).

An application stays pinned to the version it started on. A published change request that
declares a migration may move it: this module plans the move (which steps are added, removed,
which answers are dropped or filled, what the applicant would still have to answer), refuses
it where the case has gone too far, applies it in the caller's transaction (timeline + audit
through ``record_case_change``) and undoes it from the snapshot taken before, while the case
has not moved on since. Governance owns who may run it and the per-application record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.applications.case import (
    AuditNote,
    CaseContext,
    TimelineNote,
    load_case,
    load_cases,
    record_case_change,
)
from civicloom.applications.domain import ApplicationState, TaskState
from civicloom.applications.engine import activate, new_task
from civicloom.applications.graph import retry_policy
from civicloom.applications.tables import ApplicationRow, TaskRow
from civicloom.audit import AuditAction
from civicloom.catalogue import Blueprint, PublishedBlueprint, Step, validate_form_data
from civicloom.kernel import LocalisedText, ValidationFailed

# A step a department (or a worker calling it) is working on: the case cannot move under it.
AT_A_DEPARTMENT = frozenset({TaskState.RUNNING.value, TaskState.AWAITING_EXTERNAL.value})
# Every open state; a migration may narrow it (the plan lists the others with the reason).
MOVABLE_STATES = (
    ApplicationState.SUBMITTED.value,
    ApplicationState.IN_PROGRESS.value,
    ApplicationState.AWAITING_APPLICANT.value,
)
# What a step definition is made of, for the case engine: a change to any of these while the
# step is under way would change work already started.
_STEP_SHAPE = ("kind", "department", "role", "capability", "after", "when", "input")

Param = str | int | LocalisedText


@dataclass(frozen=True)
class MoveLine:
    """One readable line of a plan: a message id and its values (texts in both languages)."""

    message: str
    params: Mapping[str, Param] = field(default_factory=dict)

    def render(self, locale: str, translate: Any = None) -> str:
        """The line in ``locale`` (``translate`` is a gettext function; English without)."""
        values = {
            k: v.get(locale) if isinstance(v, LocalisedText) else v for k, v in self.params.items()
        }
        text = translate(self.message) if translate is not None else self.message
        return str(text) % values


def _t(en: str, zh: str) -> LocalisedText:
    return LocalisedText(en=en, zh_hans=zh)


# A state as the line names it, in both languages (a refusal is read by a service owner).
STATE_WORDS: dict[str, LocalisedText] = {
    "submitted": _t("sent", "已提交"),
    "in_progress": _t("in progress", "处理中"),
    "awaiting_applicant": _t("waiting for the applicant", "等待申请人"),
    "approved": _t("approved", "已批准"),
    "rejected": _t("refused", "已拒绝"),
    "withdrawn": _t("withdrawn", "已撤回"),
    "failed": _t("stopped after repeated failures", "多次失败后已停止"),
    "waiting": _t("waiting for earlier steps", "等待前序步骤"),
    "ready": _t("about to start", "即将开始"),
    "running": _t("running at the department", "正在部门处理"),
    "awaiting_external": _t("waiting for the department's answer", "等待部门答复"),
    "awaiting_officer": _t("with an officer", "由工作人员处理"),
    "completed": _t("completed", "已完成"),
    "skipped": _t("not needed", "无需办理"),
    "cancelled": _t("cancelled", "已取消"),
}


def state_words(state: str) -> LocalisedText:
    """A case's or step's state in words (the id itself only for a state with no words)."""
    return STATE_WORDS.get(state) or _t(state, state)


@dataclass(frozen=True)
class MovePlan:
    """What moving one application would change, or why it is not moved."""

    application_id: str
    reference: str
    state: str
    changes: tuple[MoveLine, ...]
    refusal: MoveLine | None = None

    @property
    def movable(self) -> bool:
        """Whether the run would move it."""
        return self.refusal is None


@dataclass(frozen=True)
class Migration:
    """A change request's declaration: which application states may move and the answers
    new fields get (a removed field's answer is dropped, kept in the move's snapshot)."""

    states: tuple[str, ...] = MOVABLE_STATES
    defaults: Mapping[str, Any] = field(default_factory=dict)


def _title(step: Step) -> LocalisedText:
    return step.title or LocalisedText(en=step.id, zh_hans=step.id)


def _field_title(blueprint: Blueprint, name: str) -> LocalisedText:
    meta = blueprint.form.fields.get(name) or {}
    raw = meta.get("x-title") or meta.get("title")
    if isinstance(raw, Mapping) and raw.get("en"):
        return LocalisedText(en=str(raw["en"]), zh_hans=str(raw.get("zh-Hans") or raw["en"]))
    text = str(raw or name)
    return LocalisedText(en=text, zh_hans=text)


def _shape(step: Step) -> dict[str, Any]:
    dumped = step.model_dump(mode="json", by_alias=True)
    return {k: dumped.get(k) for k in _STEP_SHAPE}


def mapped_answers(
    data: Mapping[str, Any], old: Blueprint, new: Blueprint, migration: Migration
) -> tuple[dict[str, Any], list[str], list[str]]:
    """The answers on the new version: removed fields dropped, new fields filled from the
    declared defaults. Returns (answers, dropped names, filled names)."""
    fields = new.form.fields
    answers = {k: v for k, v in data.items() if k in fields}
    dropped = sorted(k for k in data if k not in fields)
    filled = sorted(
        k for k in fields if k not in old.form.fields and k in migration.defaults and k not in data
    )
    for name in filled:
        answers[name] = migration.defaults[name]
    return answers, dropped, filled


def plan_move(
    case: CaseContext,
    new: Blueprint,
    migration: Migration,
    departments: Mapping[str, LocalisedText],
) -> MovePlan:
    """What moving this case to ``new`` would change, or the reason in words it stays."""
    app, old = case.app, case.blueprint

    def refused(message: str, **params: Param) -> MovePlan:
        return MovePlan(app.id, app.reference, app.state, (), MoveLine(message, params))

    if ApplicationState(app.state).is_final:
        return refused("Finished: the application is %(state)s", state=state_words(app.state))
    if app.state not in migration.states:
        return refused(
            "The migration does not move applications that are %(state)s",
            state=state_words(app.state),
        )
    for step in old.steps:
        task = case.tasks.get(step.id)
        if task is not None and task.state in AT_A_DEPARTMENT:
            where = departments.get(step.department or "") or LocalisedText(
                en=str(step.department), zh_hans=str(step.department)
            )
            return refused(
                "Step “%(step)s” is running at %(department)s", step=_title(step), department=where
            )
    old_steps, new_steps = {s.id: s for s in old.steps}, {s.id: s for s in new.steps}
    lines: list[MoveLine] = []
    for step in old.steps:
        task = case.tasks[step.id]
        started = task.state != TaskState.WAITING.value
        if step.id not in new_steps:
            if started:
                return refused(
                    "Step “%(step)s” has already started and the new version removes it",
                    step=_title(step),
                )
            lines.append(MoveLine("Step removed: “%(step)s”", {"step": _title(step)}))
        elif _shape(step) != _shape(new_steps[step.id]):
            if started:
                return refused(
                    "Step “%(step)s” has already started and the new version changes it",
                    step=_title(step),
                )
            lines.append(MoveLine("Step changed: “%(step)s”", {"step": _title(new_steps[step.id])}))
    for step in new.steps:
        if step.id in old_steps:
            continue
        later = [
            s
            for s in new.steps
            if step.id in s.after
            and s.id in case.tasks
            and case.tasks[s.id].state != TaskState.WAITING.value
        ]
        if later:
            return refused(
                "The new step “%(step)s” would come before “%(later)s”, which has already started",
                step=_title(step),
                later=_title(later[0]),
            )
        lines.append(MoveLine("Step added: “%(step)s”", {"step": _title(step)}))
    if (old.fees and old.fees.model_dump(mode="json")) != (
        new.fees and new.fees.model_dump(mode="json")
    ):
        return refused(
            "The new version decides the fee differently; "
            "the applicant keeps the fee they were told"
        )
    answers, dropped, filled = mapped_answers(app.data, old, new, migration)
    required = set(new.form.json_schema.get("required") or ())
    missing = sorted(k for k in required if k not in answers)
    if missing:
        return refused(
            "The applicant would first have to answer: %(questions)s",
            questions=_joined([_field_title(new, k) for k in missing]),
        )
    try:
        validate_form_data(new, answers)
    except ValidationFailed as failed:
        first = failed.errors[0]
        return refused(
            "The answers do not fit the new version: %(field)s (%(rule)s)",
            field=first.field,
            rule=first.rule,
        )
    for name in dropped:
        lines.append(
            MoveLine(
                "Answer set aside (kept to move back): “%(field)s”",
                {"field": _field_title(old, name)},
            )
        )
    for name in filled:
        lines.append(
            MoveLine(
                "New question answered by the migration: “%(field)s”",
                {"field": _field_title(new, name)},
            )
        )
    for name in sorted(k for k in new.form.fields if k not in old.form.fields and k not in answers):
        lines.append(
            MoveLine(
                "New optional question, left empty: “%(field)s”", {"field": _field_title(new, name)}
            )
        )
    if not lines:
        lines.append(MoveLine("Nothing changes for this application but its version"))
    return MovePlan(app.id, app.reference, app.state, tuple(lines))


def _joined(texts: Sequence[LocalisedText]) -> LocalisedText:
    return LocalisedText(
        en=", ".join(t.en for t in texts), zh_hans="、".join(t.zh_hans for t in texts)
    )


def _snapshot(row: Any) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for column in inspect(row).mapper.column_attrs:
        value = getattr(row, column.key)
        values[column.key] = {"at": value.isoformat()} if isinstance(value, datetime) else value
    return values


def _restored(values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: datetime.fromisoformat(v["at"]) if isinstance(v, dict) and set(v) == {"at"} else v
        for k, v in values.items()
    }


@dataclass(frozen=True)
class MoveRecord:
    """What a move changed: enough to move the application back, and the task states right
    after the move (moving back is refused once any of them changed)."""

    before: dict[str, Any]
    after_states: dict[str, str]


async def move_case(
    session: AsyncSession,
    case: CaseContext,
    new: PublishedBlueprint,
    migration: Migration,
    departments: Mapping[str, LocalisedText],
    now: datetime,
    *,
    actor: str,
    actor_department: str | None,
    details: Mapping[str, Any],
) -> tuple[MovePlan, MoveRecord | None]:
    """Move a (locked) case to ``new`` in the caller's transaction. A case that is not movable
    is returned with its plan's reason and no record (nothing changed)."""
    plan = plan_move(case, new.blueprint, migration, departments)
    if plan.refusal is not None:
        return plan, None
    app, old = case.app, case.blueprint
    before = {
        "application": {
            "blueprint_version_id": app.blueprint_version_id,
            "blueprint_version": app.blueprint_version,
            "data": dict(app.data),
        },
        "tasks": [_snapshot(t) for t in case.tasks.values()],
    }
    answers, _, _ = mapped_answers(app.data, old, new.blueprint, migration)
    new_steps = {s.id: s for s in new.blueprint.steps}
    for step_id, task in list(case.tasks.items()):
        spec = new_steps.get(step_id)
        if spec is None:
            await session.delete(task)
            continue
        task.kind, task.department, task.role = spec.kind, spec.department, spec.role
        task.capability, task.retry_policy, task.updated_at = (
            spec.capability,
            retry_policy(spec),
            now,
        )
    added: list[TaskRow] = []
    for spec in new.blueprint.steps:
        if spec.id in case.tasks:
            continue
        task = new_task(app.id, spec, now)
        session.add(task)
        added.append(task)
    await session.flush()
    app.blueprint_version_id, app.blueprint_version = new.version_id, new.blueprint.version
    app.data, app.updated_at = answers, now
    kept = [t for sid, t in case.tasks.items() if sid in new_steps]
    moved = CaseContext(app, new.blueprint, [*kept, *added])
    await record_case_change(
        session,
        app,
        now,
        timeline=TimelineNote(
            "application.version_moved",
            f"Your application moved to version {new.blueprint.version} of the service",
        ),
        audit=AuditNote(
            actor,
            AuditAction.APPLICATION_VERSION_MOVED,
            actor_department,
            {
                **details,
                "from_version": old.version,
                "to_version": new.blueprint.version,
                "changes": [line.render("en") for line in plan.changes],
            },
        ),
    )
    done = {sid for sid, t in moved.tasks.items() if TaskState(t.state).is_terminal}
    for task in added:  # a new step whose predecessors are all done starts now
        spec = moved.graph.steps[task.step_id]
        if set(spec.after) <= done:
            await activate(session, moved, task, now)
    return plan, MoveRecord(before, {sid: t.state for sid, t in moved.tasks.items()})


def why_not_back(case: CaseContext, record: MoveRecord, to_version_id: str) -> MoveLine | None:
    """Why a moved case can no longer move back, in words; ``None`` if it can."""
    if ApplicationState(case.app.state).is_final:
        return MoveLine(
            "Finished: the application is %(state)s", {"state": state_words(case.app.state)}
        )
    if case.app.blueprint_version_id != to_version_id:
        return MoveLine("The application has moved to another version since")
    for spec in case.blueprint.steps:  # in the blueprint's order: the same reason every time
        task = case.tasks.get(spec.id)
        if task is not None and record.after_states.get(spec.id) != task.state:
            return MoveLine(
                "Step “%(step)s” has progressed since the move (now %(state)s)",
                {"step": _title(spec), "state": state_words(task.state)},
            )
    if set(case.tasks) != set(record.after_states):
        return MoveLine("The application's steps have changed since the move")
    return None


async def move_case_back(
    session: AsyncSession,
    case: CaseContext,
    record: MoveRecord,
    to_version_id: str,
    now: datetime,
    *,
    actor: str,
    actor_department: str | None,
    details: Mapping[str, Any],
) -> MoveLine | None:
    """Undo a move from its snapshot (old version, old answers, old steps) in the caller's
    transaction; the reason in words (nothing changed) when the case has progressed since."""
    refusal = why_not_back(case, record, to_version_id)
    if refusal is not None:
        return refusal
    app = case.app
    previous = record.before["application"]
    moved_version = app.blueprint_version
    for task in case.tasks.values():
        await session.delete(task)
    await session.flush()
    for values in record.before["tasks"]:
        session.add(TaskRow(**_restored(values)))
    app.blueprint_version_id = str(previous["blueprint_version_id"])
    app.blueprint_version = int(previous["blueprint_version"])
    app.data, app.updated_at = dict(previous["data"]), now
    await record_case_change(
        session,
        app,
        now,
        timeline=TimelineNote(
            "application.version_restored",
            f"Your application is back on version {app.blueprint_version} of the service",
        ),
        audit=AuditNote(
            actor,
            AuditAction.APPLICATION_VERSION_RESTORED,
            actor_department,
            {**details, "from_version": moved_version, "to_version": app.blueprint_version},
        ),
    )
    await session.flush()
    return None


# The use cases other modules call (governance runs them in its unit of work).


async def plan_moves(
    session: AsyncSession,
    from_version_id: str,
    new: Blueprint,
    migration: Migration,
    departments: Mapping[str, LocalisedText],
) -> list[MovePlan]:
    """Every open application pinned to ``from_version_id``, oldest first, with what moving it
    to ``new`` would change or why it stays (nothing written)."""
    ids = list(
        await session.scalars(
            select(ApplicationRow.id)
            .where(
                ApplicationRow.blueprint_version_id == from_version_id,
                ApplicationRow.state.in_(MOVABLE_STATES),
            )
            .order_by(ApplicationRow.submitted_at, ApplicationRow.id)
        )
    )
    cases = await load_cases(session, ids)
    return [plan_move(cases[i], new, migration, departments) for i in ids]


async def move_application(
    session: AsyncSession,
    application_id: str,
    from_version_id: str,
    new: PublishedBlueprint,
    migration: Migration,
    departments: Mapping[str, LocalisedText],
    now: datetime,
    *,
    actor: str,
    actor_department: str | None,
    details: Mapping[str, Any],
) -> tuple[MovePlan, MoveRecord | None]:
    """Lock one application and move it (``move_case``); one that is no longer on
    ``from_version_id`` is not moved, with the reason."""
    case = (await load_cases(session, [application_id], lock=True)).get(application_id)
    if case is None:
        return MovePlan(application_id, "", "", (), MoveLine("No such application")), None
    if case.app.blueprint_version_id != from_version_id:
        line = MoveLine("The application is not on the version this change replaced")
        return MovePlan(case.app.id, case.app.reference, case.app.state, (), line), None
    return await move_case(
        session,
        case,
        new,
        migration,
        departments,
        now,
        actor=actor,
        actor_department=actor_department,
        details=details,
    )


async def move_application_back(
    session: AsyncSession,
    application_id: str,
    record: MoveRecord,
    to_version_id: str,
    now: datetime,
    *,
    actor: str,
    actor_department: str | None,
    details: Mapping[str, Any],
) -> MoveLine | None:
    """Lock one moved application and move it back (``move_case_back``)."""
    case = await load_case(session, application_id, lock=True)
    return await move_case_back(
        session,
        case,
        record,
        to_version_id,
        now,
        actor=actor,
        actor_department=actor_department,
        details=details,
    )


async def why_application_stays(
    session: AsyncSession, application_id: str, record: MoveRecord, to_version_id: str
) -> MoveLine | None:
    """Why a moved application can no longer move back (nothing locked or written)."""
    return why_not_back(await load_case(session, application_id), record, to_version_id)
