"""Staff case search and the one case view (ADR 0063).

Who sees which case follows ``civicloom.identity`` (``may_view_application``): an officer or
supervisor sees the applications on which their department has a step, an auditor every
application. A search matches an answer only in the blueprint versions where the searcher's
department may read that field (``visible_field_names``), so a department cannot find a case
by a name it is not entitled to read. Each search is one audit entry (the fields searched, a
hash of the text, the applications shown); each case view one ``application.read``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from civicloom.applications import (
    ApplicationHeader,
    ApplicationRecord,
    CaseSearchQuery,
    FieldMatch,
    Forbidden,
    TaskState,
    TaskView,
    departments_on_case,
    find_application,
    search_cases,
    steps_of_department,
    tasks_of_application,
)
from civicloom.audit import AuditAction, AuditRecord, append_audit, record_read
from civicloom.backoffice.domain import visible_document_types
from civicloom.backoffice.queries import Exchange, exchanges_of
from civicloom.catalogue import Blueprint, get_blueprint_version, list_blueprint_versions
from civicloom.departments import department_names
from civicloom.documents import DocumentRef, application_documents
from civicloom.identity import Role, staff_names, visible_field_names, visible_fields
from civicloom.kernel import (
    Clock,
    FieldError,
    LocalisedText,
    NotFound,
    Principal,
    TextKind,
    ValidationFailed,
    text_problem,
)
from civicloom.rules import RecordedDecision, list_decisions

QUERY_MIN_CHARS = 2
QUERY_MAX_CHARS = 100
PER_PAGE = 20
CASE_STAFF = frozenset({Role.OFFICER.value, Role.SUPERVISOR.value})
SEES_EVERY_CASE = frozenset({Role.AUDITOR.value})
REFERENCE_FIELD = "reference"
# Answers a search looks in, by what they are (ADR 0063): identifiers match whole, names in part.
IDENTIFIER_FIELDS = ("business_registration_number",)
BUSINESS_NAME_FIELDS = ("business_name",)
ALL_STATES = tuple(s.value for s in TaskState)


def case_scope(principal: Principal) -> str | None:
    """The department whose cases the principal may search and open; None: every case.

    Officers and supervisors: their department's; auditors: all; anyone else: Forbidden."""
    if SEES_EVERY_CASE & principal.roles:
        return None
    if principal.department is not None and CASE_STAFF & principal.roles:
        return principal.department
    raise Forbidden("only officers, supervisors and auditors search and read cases")


def person_name_fields(properties: Mapping[str, Any]) -> list[str]:
    """Form fields naming a person: personal data whose name ends in ``_name``."""
    return sorted(
        name
        for name, spec in properties.items()
        if name.endswith("_name")
        and name not in BUSINESS_NAME_FIELDS
        and isinstance(spec, Mapping)
        and spec.get("x-data-class") == "personal"
    )


def check_query(text: str) -> str:
    """The typed text, stripped, or ValidationFailed naming ``q`` and the rule it breaks."""
    value = text.strip()
    if not value:
        raise ValidationFailed(
            [FieldError("q", "required", "enter a reference, business name, number or name")]
        )
    if len(value) > QUERY_MAX_CHARS:
        raise ValidationFailed(
            [FieldError("q", "max-length", f"use {QUERY_MAX_CHARS} characters or fewer")]
        )
    problem = text_problem(value, TextKind.LINE)
    if problem is not None:
        raise ValidationFailed([FieldError("q", problem[0], problem[1])])
    if len(value) < QUERY_MIN_CHARS:
        raise ValidationFailed(
            [FieldError("q", "min-length", f"enter at least {QUERY_MIN_CHARS} characters")]
        )
    return value


def cursor_of(header: ApplicationHeader) -> str:
    """The opaque position after ``header`` in the newest-first order."""
    raw = f"{header.submitted_at.isoformat()}|{header.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_cursor(token: str) -> tuple[datetime, str]:
    """A position made by ``cursor_of``, or ValidationFailed naming ``after``."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        at, _sep, last_id = raw.partition("|")
        parsed = datetime.fromisoformat(at)
        if not last_id or len(last_id) > 36 or parsed.tzinfo is None:
            raise ValueError(raw)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise ValidationFailed(
            [FieldError("after", "cursor", "this page link is not valid: search again")]
        ) from None
    return parsed, last_id


@dataclass(frozen=True)
class CaseHit:
    """One found application and the steps of it that are the searcher's department's."""

    application: ApplicationHeader
    steps: list[str]


@dataclass(frozen=True)
class CaseSearchResult:
    """One page of a staff search; ``next_cursor`` opens the next page."""

    text: str
    hits: list[CaseHit]
    next_cursor: str | None
    blueprints: dict[str, Blueprint] = field(default_factory=dict)  # by version id


def _field_matches(
    principal: Principal, versions: list[tuple[str, str, dict[str, Any]]]
) -> tuple[FieldMatch, ...]:
    """For each searchable answer, the blueprint versions where the principal may read it."""
    wanted: dict[tuple[str, bool], set[str]] = {}
    for version_id, owner, properties in versions:
        readable = visible_field_names(principal, properties, owner)
        for name in IDENTIFIER_FIELDS:
            if name in readable:
                wanted.setdefault((name, True), set()).add(version_id)
        for name in (*BUSINESS_NAME_FIELDS, *person_name_fields(properties)):
            if name in readable:
                wanted.setdefault((name, False), set()).add(version_id)
    return tuple(
        FieldMatch(name, frozenset(ids), exact) for (name, exact), ids in sorted(wanted.items())
    )


async def search_staff_cases(
    uow_factory: Any,
    clock: Clock,
    principal: Principal,
    text: str,
    after: str | None = None,
    per_page: int = PER_PAGE,
) -> CaseSearchResult:
    """Find applications by reference, business name, registration number or the applicant's
    name, within what the principal may see; one audit entry per search (not per row)."""
    department = case_scope(principal)
    value = check_query(text)
    position = parse_cursor(after) if after else None
    async with uow_factory() as uow:
        session = uow.session
        versions = [
            (v.id, v.owner_department, dict((v.document.get("form") or {}).get("schema") or {}))
            for v in await list_blueprint_versions(session)
        ]
        matches = _field_matches(
            principal, [(i, o, dict(s.get("properties") or {})) for i, o, s in versions]
        )
        found = await search_cases(
            session, CaseSearchQuery(value, department, matches, per_page, position)
        )
        ids = [a.id for a in found.applications]
        mine = await steps_of_department(session, ids, department) if department else {}
        blueprints: dict[str, Blueprint] = {}
        for header in found.applications:
            if header.blueprint_version_id not in blueprints:
                published = await get_blueprint_version(session, header.blueprint_version_id)
                if published is not None:
                    blueprints[header.blueprint_version_id] = published.blueprint
        searched = sorted({REFERENCE_FIELD, *(m.field for m in matches)})
        await append_audit(
            session,
            AuditRecord(
                actor=principal.audit_name,
                action=AuditAction.CASES_SEARCHED,
                subject_type="case-search",
                subject_id=principal.subject,
                occurred_at=clock.now(),
                department=principal.department,
                purpose="an officer looks for a case",
                fields=tuple(searched),
                details={
                    # a hash, never the text: a name typed is personal data (the auditor can
                    # still check "did X search for Y" by hashing Y the same way)
                    "query_sha256": hashlib.sha256(value.casefold().encode()).hexdigest(),
                    "applications": ids,
                    "more": found.more,
                    "page": "next" if position else "first",
                },
            ),
        )
        await uow.commit()
    hits = [CaseHit(a, sorted(mine.get(a.id, []))) for a in found.applications]
    last = found.applications[-1] if found.more and found.applications else None
    return CaseSearchResult(value, hits, cursor_of(last) if last else None, blueprints)


@dataclass(frozen=True)
class CaseStep:
    """One step of the case as the viewer may see it."""

    task: TaskView
    title: LocalisedText | None
    mine: bool  # the viewer's department's step (or the viewer sees every case)
    decision: str | None = None  # an officer's "approved"/"rejected"
    decided_by: str | None = None
    reason: str | None = None  # shown where the policy allows it (ADR 0063)
    decisions: list[RecordedDecision] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)  # text only for the asking dept


@dataclass(frozen=True)
class CaseDocument:
    """A document of the case; ``link`` only when the viewer may open it."""

    document: DocumentRef
    title: LocalisedText | None
    shown: bool  # the viewer's department may read it (file name shown)
    link: str | None = None


@dataclass
class CaseView:
    """Everything the one case view shows (ADR 0063)."""

    application: ApplicationRecord
    blueprint: Blueprint | None
    data: dict[str, Any]
    steps: list[CaseStep]
    documents: list[CaseDocument]
    departments: dict[str, LocalisedText]
    people: dict[str, str]
    viewer_department: str | None
    payment: CaseStep | None = None
    fees: RecordedDecision | None = None


def _reason_allowed(step_department: str | None, viewer: str | None, decision: str | None) -> bool:
    """An officer's reason is the department's own record, except a refusal's: the applicant was
    told it, so every department on the case may read it (ADR 0063)."""
    return viewer is None or step_department == viewer or decision == "rejected"


def _exchanges_for(output: dict[str, Any] | None, mine: bool) -> list[Exchange]:
    """Questions and answers; another department's appear as dates only (the answer reaches
    only the department that asked: issue 19's attack review)."""
    found = exchanges_of(output)
    if mine:
        return found
    return [Exchange(e.at, e.kind, "", None) for e in found]


async def read_case(
    uow_factory: Any, clock: Clock, principal: Principal, application_id: str
) -> CaseView:
    """The one case view. A department with no step on the case gets Forbidden and nothing is
    recorded; otherwise the read is audited (``application.read``, the fields shown)."""
    department = case_scope(principal)
    async with uow_factory() as uow:
        session = uow.session
        app = await find_application(session, application_id)
        if app is None:
            raise NotFound(f"no application {application_id!r}")
        if department is not None and department not in await departments_on_case(session, app.id):
            raise Forbidden("your department has no step on this application")
        published = await get_blueprint_version(session, app.blueprint_version_id)
        blueprint = published.blueprint if published else None
        data = visible_fields(principal, blueprint, app.data) if blueprint else {}
        tasks = {t.step_id: t for t in await tasks_of_application(session, app.id, ALL_STATES)}
        decisions = await list_decisions(session, app.id)
        order = [s.id for s in blueprint.steps] if blueprint else sorted(tasks)
        titles = {s.id: s.title for s in blueprint.steps} if blueprint else {}
        steps: list[CaseStep] = []
        for step_id in order:
            task = tasks.get(step_id)
            if task is None:
                continue
            mine = department is None or task.department == department
            output = task.output or {}
            decided = output.get("decision") if task.kind == "officer_review" else None
            decision = str(decided) if decided in ("approved", "rejected") else None
            reason = output.get("reason") if decision else None
            steps.append(
                CaseStep(
                    task=task,
                    title=titles.get(step_id),
                    mine=mine,
                    decision=decision,
                    decided_by=str(output.get("by")) if decision and mine else None,
                    reason=str(reason)
                    if reason and _reason_allowed(task.department, department, decision)
                    else None,
                    decisions=[d for d in decisions if d.purpose == step_id],
                    exchanges=_exchanges_for(task.output, mine),
                )
            )
        readable = visible_document_types(blueprint, department) if department else None
        # documents open through one of the department's tasks (audited with its step as the
        # purpose): its officer review if it has one
        own = [s.task for s in steps if department and s.task.department == department]
        reviews = [t for t in own if t.kind == "officer_review"]
        own_task_id = (reviews or own)[0].id if own else None
        doc_titles = {d.type: d.title for d in blueprint.documents} if blueprint else {}
        documents = []
        for doc in await application_documents(session, app.id):
            shown = readable is None or doc.document_type in readable
            link = (
                f"/backoffice/tasks/{own_task_id}/documents/{doc.id}"
                if own_task_id and readable is not None and doc.document_type in readable
                else None
            )
            documents.append(CaseDocument(doc, doc_titles.get(doc.document_type), shown, link))
        people = await staff_names(session, [s.decided_by or "" for s in steps])
        names = await department_names(session)
        record_read(
            session,
            AuditRecord(
                actor=principal.audit_name,
                action=AuditAction.APPLICATION_READ,
                subject_type="application",
                subject_id=app.id,
                occurred_at=clock.now(),
                department=principal.department,
                details={"fields": sorted(data), "purpose": "case view"},
                purpose="an officer reviews the application",
                fields=tuple(sorted(data)),
            ),
        )
        await uow.commit()
    payment = next((s for s in steps if s.task.kind == "payment"), None)
    fees = next((d for d in decisions if d.purpose == "fees"), None)
    return CaseView(
        application=app,
        blueprint=blueprint,
        data=data,
        steps=steps,
        documents=documents,
        departments=names,
        people=people,
        viewer_department=department,
        payment=payment,
        fees=fees,
    )
