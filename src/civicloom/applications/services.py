"""Use cases on applications: each opens the unit of work, writes audit and outbox, commits once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, case, null, select
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.applications.domain import (
    ApplicationState,
    ApplicationStatus,
    ApplicationView,
    OnBehalf,
    StepStatus,
    SubmitApplication,
    TaskState,
    TimelineEntry,
)
from civicloom.applications.engine import start_case
from civicloom.applications.queries import TimelineQuery, timeline_page
from civicloom.applications.tables import ApplicationRow, TaskRow
from civicloom.audit import AuditAction, AuditRecord, append_audit, record_read
from civicloom.catalogue import get_current_blueprint, validate_form_data
from civicloom.db import UnitOfWork
from civicloom.identity import ActingFor
from civicloom.kernel import (
    Clock,
    Conflict,
    FieldError,
    NotFound,
    Principal,
    SignedCursors,
    TextKind,
    ValidationFailed,
    canonical_json,
    new_id,
    new_reference,
    normalise_data,
    normalise_text,
    sha256_hex,
)
from civicloom.outbox import CloudEvent, EventType, enqueue_event

EVENT_SOURCE = "urn:civicloom:applications"


def _view(row: ApplicationRow) -> ApplicationView:
    return ApplicationView(
        id=row.id,
        reference=row.reference,
        service_id=row.service_id,
        blueprint_version=row.blueprint_version,
        blueprint_version_id=row.blueprint_version_id,
        state=ApplicationState(row.state),
        data=row.data,
        submitted_at=row.submitted_at,
        updated_at=row.updated_at,
        deadline_at=row.deadline_at,
        outcome_reason=row.outcome_reason,
        clock_stopped_at=row.clock_stopped_at,
    )


async def submit_application(
    uow: UnitOfWork, clock: Clock, applicant: Principal, command: SubmitApplication
) -> tuple[ApplicationView, bool]:
    """Validate against the current blueprint, store, audit and announce a new application.

    With an idempotency key, a replay of the same request returns the first result
    (``created`` False) and a reuse with a different body is a conflict.
    """
    async with uow:
        view, created = await submit_in(uow.session, clock, applicant, command)
        await uow.commit()
    return view, created


async def submit_in(
    session: AsyncSession, clock: Clock, applicant: Principal, command: SubmitApplication
) -> tuple[ApplicationView, bool]:
    """``submit_application`` inside the caller's transaction (the caller commits once), for a
    user action that does more than submit (the portal links its draft in the same commit)."""
    # The gate comes first: a lone surrogate or a control character is refused by name here,
    # never hashed (it would not encode) nor stored.
    service_id = normalise_text(command.service_id, "service", TextKind.LINE)
    data = normalise_data(command.data, "data")
    request_hash = sha256_hex(canonical_json({"service": service_id, "data": data}))
    if command.idempotency_key:
        earlier = await session.scalar(
            select(ApplicationRow).where(
                ApplicationRow.applicant_id == applicant.subject,
                ApplicationRow.idempotency_key == command.idempotency_key,
            )
        )
        if earlier is not None:
            if earlier.request_hash != request_hash:
                raise Conflict("this Idempotency-Key was already used for a different request")
            return _view(earlier), False
    published = await get_current_blueprint(session, service_id)
    if published is None:
        raise ValidationFailed(
            [FieldError("service", "known-service", f"no published service {service_id!r}")]
        )
    blueprint = published.blueprint
    acting = _acting_for(
        blueprint.form.json_schema,
        command.on_behalf.person if command.on_behalf and command.on_behalf.person else None,
        applicant,
        data,
        command.acting_for,
    )
    if acting is not None:
        data = _from_register(blueprint.form.json_schema, data, acting)
    now = clock.now()
    validate_form_data(blueprint, data, today=now.date())
    row = ApplicationRow(
        id=command.application_id or new_id(),
        reference=new_reference(blueprint.reference_prefix, now),
        service_id=blueprint.id,
        blueprint_version_id=published.version_id,
        blueprint_version=blueprint.version,
        applicant_id=applicant.subject,
        state=ApplicationState.SUBMITTED.value,
        data=data,
        idempotency_key=command.idempotency_key,
        request_hash=request_hash,
        submitted_at=now,
        updated_at=now,
    )
    session.add(row)
    await session.flush()
    await start_case(session, row, blueprint, now)
    await enqueue_event(
        session,
        CloudEvent(
            type=EventType.APPLICATION_SUBMITTED,
            source=EVENT_SOURCE,
            subject=row.id,
            time=now,
            data={
                "application_id": row.id,
                "reference": row.reference,
                "service": row.service_id,
                "blueprint_version": row.blueprint_version,
            },
        ),
        key=f"application.submitted:{row.id}",
    )
    if acting is not None and acting.directors and acting.subject not in acting.directors:
        await enqueue_event(
            session,
            CloudEvent(
                type=EventType.BUSINESS_ACTED_FOR,
                source=EVENT_SOURCE,
                subject=row.id,
                time=now,
                data={
                    "application_id": row.id,
                    "reference": row.reference,
                    "service": row.service_id,
                    "service_title": blueprint.title.en,
                    "registration_number": acting.registration_number,
                    "business_name": str(acting.entry.get("name") or ""),
                    "capacity": acting.capacity.value,
                    "directors": list(acting.directors),
                },
            ),
            key=f"business.acted_for:{row.id}",
        )
    await append_audit(
        session,
        AuditRecord(
            actor=command.on_behalf.officer if command.on_behalf else applicant.audit_name,
            action=AuditAction.APPLICATION_SUBMITTED,
            subject_type="application",
            subject_id=row.id,
            occurred_at=now,
            department=blueprint.owner,
            purpose="apply for service",
            fields=tuple(sorted(data)),
            details={
                "service": blueprint.id,
                "blueprint_version": blueprint.version,
                **({"acting_for": acting_for_details(acting)} if acting else {}),
                **(
                    {"on_behalf_of": _on_behalf(applicant, command.on_behalf)}
                    if command.on_behalf
                    else {}
                ),
            },
        ),
    )
    return _view(row), True


BUSINESS_FIELD = "business_registration_number"


def _on_behalf(applicant: Principal, on_behalf: OnBehalf) -> dict[str, Any]:
    """Who acted, for whom, in what capacity (the assisted channel, ADR 0044)."""
    return {
        "applicant": applicant.subject,
        "officer": on_behalf.officer,
        "department": on_behalf.department,
        "capacity": "counter-officer",
        "channel": "counter",
        "counter_id": on_behalf.counter_id,
        "identity": dict(on_behalf.identity),
    }


def _acting_for(
    schema: dict[str, Any],
    person: str | None,
    applicant: Principal,
    data: dict[str, Any],
    acting: ActingFor | None,
) -> ActingFor | None:
    """A form about a business needs the register's verdict for this applicant and number
    (at a counter: for the person whose identity document the officer saw)."""
    if BUSINESS_FIELD not in schema.get("properties", {}):
        return None
    number = data.get(BUSINESS_FIELD)
    if number is None:
        return None  # not about a business (or missing: the schema says so by name)
    if (
        acting is None
        or acting.subject != (person or applicant.subject)
        or acting.registration_number != number
    ):
        raise ValidationFailed(
            [
                FieldError(
                    f"data.{BUSINESS_FIELD}",
                    "may-act-for",
                    "you may not act for this business",
                )
            ]
        )
    return acting


def _from_register(
    schema: dict[str, Any], data: dict[str, Any], acting: ActingFor
) -> dict[str, Any]:
    """The business data the register holds replaces what the form said (the licence holder
    and the business's name come from the register, never from the applicant's typing)."""
    out = dict(data)
    for name, prop in schema.get("properties", {}).items():
        spec = prop.get("x-prefill") or {}
        if spec.get("capability") != acting.capability:
            continue
        value = acting.entry.get(str(spec.get("path", name)))
        if value not in (None, ""):
            out[name] = value
    return out


def acting_for_details(acting: ActingFor) -> dict[str, Any]:
    """Who applied, in what capacity, verified against which register entry (audit, task page)."""
    return {
        "subject": acting.subject,
        "capacity": acting.capacity.value,
        "registration_number": acting.registration_number,
        "register": acting.capability,
        "department": acting.department,
        "agreement": acting.agreement,
        "mandate": acting.mandate_id,
        "register_name": acting.entry.get("name"),
        "checked_at": acting.checked_at.isoformat(),
    }


async def get_application(
    uow: UnitOfWork, clock: Clock, reader: Principal, application_id: str
) -> ApplicationView:
    """The applicant's own application; anyone else gets NotFound. The read is audited."""
    async with uow:
        row = await uow.session.get(ApplicationRow, application_id)
        if row is None or row.applicant_id != reader.subject:
            raise NotFound(f"no application {application_id!r} for this applicant")
        view = _view(row)
        record_read(
            uow.session,
            AuditRecord(
                actor=reader.audit_name,
                action=AuditAction.APPLICATION_READ,
                subject_type="application",
                subject_id=row.id,
                occurred_at=clock.now(),
                purpose="applicant views own application",
                fields=tuple(sorted(row.data)),
            ),
        )
        await uow.commit()
    return view


_APPLICATIONS = ApplicationRow.__table__.c
_TASKS = TaskRow.__table__.c
# The status read's statements, built once (issue 23, ADR 0079): Core rows of the columns the
# status shows, not ORM entities (no identity map, no unused column converted); the fee and
# the questions asked are picked out of their JSON documents by the database.
_STATUS_APPLICATION = select(
    _APPLICATIONS.reference,
    _APPLICATIONS.service_id,
    _APPLICATIONS.blueprint_version,
    _APPLICATIONS.blueprint_version_id,
    _APPLICATIONS.state,
    _APPLICATIONS.data,
    _APPLICATIONS.submitted_at,
    _APPLICATIONS.updated_at,
    _APPLICATIONS.deadline_at,
    _APPLICATIONS.outcome_reason,
    _APPLICATIONS.clock_stopped_at,
    _APPLICATIONS.decisions["fees"].label("fee"),
).where(
    # anyone else's application is not found, exactly as one that does not exist
    _APPLICATIONS.id == bindparam("application_id"),
    _APPLICATIONS.applicant_id == bindparam("applicant_id"),
)
_STATUS_STEPS = (
    select(
        _TASKS.step_id,
        _TASKS.kind,
        _TASKS.department,
        _TASKS.state,
        _TASKS.sla_due_at,
        _TASKS.completed_at,
        _TASKS.escalated,
        _TASKS.escalated_to,
        # the questions asked, only where the step waits for the applicant
        case(
            (_TASKS.state == TaskState.AWAITING_APPLICANT.value, _TASKS.output["requests"]),
            else_=null(),
        ).label("requests"),
    )
    .where(_TASKS.application_id == bindparam("application_id"))
    .order_by(_TASKS.created_at, _TASKS.step_id)
)


async def application_status(
    uow: UnitOfWork,
    clock: Clock,
    reader: Principal,
    application_id: str,
    cursors: SignedCursors | None = None,
    cursor: str | None = None,
) -> ApplicationStatus:
    """The applicant's status page: every department's step and a page of the timeline (two
    cheap queries; issue 23, ADR 0075, 0079). The page is the newest one, or the one ``cursor``
    (a neighbour's, signed by ``cursors`` for this application's applicant view) names: a
    cursor of another application, of a staff view or altered is InvalidCursor (400 naming
    ``cursor``), checked after the application was found to be the reader's (anyone else's is
    NotFound, cursor or not). Without ``cursors`` no page links are given: the newest page
    only. The read is recorded in the read log in the same transaction, before it is shown."""
    async with uow:
        conn = await uow.session.connection()
        app = (
            await conn.execute(
                _STATUS_APPLICATION,
                {"application_id": application_id, "applicant_id": reader.subject},
            )
        ).first()
        if app is None:
            raise NotFound(f"no application {application_id!r} for this applicant")
        query = TimelineQuery(application_id, applicant=True).from_cursor(cursors, cursor)
        tasks = await conn.execute(_STATUS_STEPS, {"application_id": application_id})
        steps = [
            StepStatus(
                step_id=step_id,
                kind=kind,
                department=department,
                state=TaskState(state),
                expected_by=sla_due_at,
                completed_at=completed_at,
                escalated=escalated,
                escalated_to=escalated_to,
                open_request=_newest_question(requests),
            )
            # by position: a row's attributes by name cost a key lookup each
            for (
                step_id,
                kind,
                department,
                state,
                sla_due_at,
                completed_at,
                escalated,
                escalated_to,
                requests,
            ) in tasks
        ]
        page = await timeline_page(uow.session, query)
        data: dict[str, Any] = app.data
        record_read(
            uow.session,
            AuditRecord(
                actor=reader.audit_name,
                action=AuditAction.APPLICATION_READ,
                subject_type="application",
                subject_id=application_id,
                occurred_at=clock.now(),
                purpose="applicant views status",
                fields=tuple(sorted(data)),
            ),
        )
        await uow.commit()
    fee = app.fee
    return ApplicationStatus(
        application=ApplicationView(
            id=application_id,
            reference=app.reference,
            service_id=app.service_id,
            blueprint_version=app.blueprint_version,
            blueprint_version_id=app.blueprint_version_id,
            state=ApplicationState(app.state),
            data=data,
            submitted_at=app.submitted_at,
            updated_at=app.updated_at,
            deadline_at=app.deadline_at,
            outcome_reason=app.outcome_reason,
            clock_stopped_at=app.clock_stopped_at,
        ),
        fee=dict(fee) if isinstance(fee, dict) else None,
        steps=steps,
        # oldest first within the page, as the status has always been (a client reads the last
        # entry as the newest); the pages themselves go from the newest back
        timeline=[
            TimelineEntry(
                at=e.at,
                event=e.event,
                step_id=e.step_id,
                department=e.department,
                message=e.message,
            )
            for e in reversed(page.entries)
        ],
        timeline_older=cursors.encode(page.older, query.scope) if cursors and page.older else None,
        timeline_newer=cursors.encode(page.newer, query.scope) if cursors and page.newer else None,
    )


def _newest_question(asked: Any) -> str | None:
    """The newest question a step waiting for the applicant asked (None otherwise): the last
    of its ``requests``, read from the task, not the timeline (read a page at a time)."""
    newest = asked[-1] if isinstance(asked, list) and asked else None
    return str(newest.get("message", "")) if isinstance(newest, dict) else None
