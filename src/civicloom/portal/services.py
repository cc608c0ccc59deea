"""Portal use cases: drafts (save and resume), once-only prefill, submitting a draft.

Each use case opens the unit of work, changes state, appends its audit entry and commits
once; submission goes through ``civicloom.applications.submit_application``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from civicloom.applications import ApplicationView, SubmitApplication, submit_application
from civicloom.audit import AuditRecord, append_audit
from civicloom.catalogue import Blueprint, get_blueprint_version, get_current_blueprint
from civicloom.db import UnitOfWork
from civicloom.departments import CallOutcome, CapabilityCall, CapabilityGateway
from civicloom.identity import mandates_of
from civicloom.kernel import (
    Clock,
    Conflict,
    FieldError,
    NotFound,
    Principal,
    ValidationFailed,
    new_id,
)
from civicloom.observability import get_logger
from civicloom.portal.tables import DraftRow

log = get_logger(__name__)


@dataclass(frozen=True)
class Draft:
    """An application being filled in, with the blueprint version it started on."""

    id: str
    service_id: str
    blueprint: Blueprint
    data: dict[str, Any]
    prefilled: dict[str, Any]
    prefill_consent: str | None
    idempotency_key: str
    application_id: str | None


async def _row(uow: UnitOfWork, principal: Principal, draft_id: str) -> DraftRow:
    row = await uow.session.get(DraftRow, draft_id)
    if row is None or row.applicant_id != principal.subject:
        raise NotFound(f"no draft {draft_id!r} for this applicant")
    return row


async def _draft(uow: UnitOfWork, row: DraftRow) -> Draft:
    published = await get_blueprint_version(uow.session, row.blueprint_version_id)
    if published is None:
        raise NotFound(f"the service version of draft {row.id!r} is gone")
    return Draft(
        id=row.id,
        service_id=row.service_id,
        blueprint=published.blueprint,
        data=dict(row.data),
        prefilled=dict(row.prefilled),
        prefill_consent=row.prefill_consent,
        idempotency_key=row.idempotency_key,
        application_id=row.application_id,
    )


async def start_draft(
    uow: UnitOfWork, clock: Clock, principal: Principal, service_id: str
) -> Draft:
    """Begin an application on the service's current version."""
    async with uow:
        published = await get_current_blueprint(uow.session, service_id)
        if published is None:
            raise NotFound(f"no published service {service_id!r}")
        now = clock.now()
        row = DraftRow(
            id=new_id(),
            applicant_id=principal.subject,
            service_id=service_id,
            blueprint_version_id=published.version_id,
            data={},
            prefilled={},
            idempotency_key=secrets.token_urlsafe(24),
            created_at=now,
            updated_at=now,
        )
        uow.session.add(row)
        await uow.session.flush()
        draft = await _draft(uow, row)
        await uow.commit()
    return draft


async def get_draft(uow: UnitOfWork, principal: Principal, draft_id: str) -> Draft:
    """One of the caller's drafts; anyone else's is NotFound."""
    async with uow:
        return await _draft(uow, await _row(uow, principal, draft_id))


async def save_answers(
    uow: UnitOfWork, clock: Clock, principal: Principal, draft_id: str, answers: dict[str, Any]
) -> None:
    """Store a page's answers (a blank answer removes the earlier one)."""
    async with uow:
        row = await _row(uow, principal, draft_id)
        if row.application_id:
            raise Conflict("this application was already sent")
        data = dict(row.data)
        for name, value in answers.items():
            if value is None:
                data.pop(name, None)
            else:
                data[name] = value
        row.data, row.updated_at = data, clock.now()
        await uow.commit()


async def discard_draft(uow: UnitOfWork, principal: Principal, draft_id: str) -> None:
    """Delete a draft that was not sent."""
    async with uow:
        row = await _row(uow, principal, draft_id)
        if row.application_id:
            raise Conflict("this application was already sent")
        await uow.session.delete(row)
        await uow.commit()


async def list_drafts(uow: UnitOfWork, principal: Principal) -> list[DraftRow]:
    """The caller's unsent drafts, newest first (one query)."""
    async with uow:
        rows = await uow.session.scalars(
            select(DraftRow)
            .where(DraftRow.applicant_id == principal.subject, DraftRow.application_id.is_(None))
            .order_by(DraftRow.updated_at.desc())
        )
        return list(rows)


@dataclass(frozen=True)
class PrefillPlan:
    """What the government already holds for this form: one register call per capability."""

    capability: str
    department: str
    input: dict[str, Any]
    fields: dict[str, str]  # form field -> path in the register's answer
    keys: dict[str, Any]  # form fields the input itself answers (e.g. the registration number)


def prefill_plans(
    blueprint: Blueprint, principal: Principal, data: dict[str, Any]
) -> list[PrefillPlan]:
    """Register look-ups the blueprint declares (``x-prefill``) whose input we can supply.

    A look-up's input is what the blueprint's own step calling the same capability sends;
    ``$.data.<field>`` references come from the answers so far or, for a business the
    applicant represents, from their mandate.
    """
    properties: dict[str, Any] = blueprint.form.json_schema.get("properties", {})
    steps: list[dict[str, Any]] = blueprint.document().get("steps", [])
    wanted: dict[str, dict[str, str]] = {}
    for name, prop in properties.items():
        spec = prop.get("x-prefill") or {}
        if spec.get("capability"):
            wanted.setdefault(spec["capability"], {})[name] = str(spec.get("path", name))
    mandates = sorted(mandates_of(principal))
    plans = []
    for capability, fields in wanted.items():
        step = next((s for s in steps if s.get("capability") == capability), None)
        if step is None:
            continue
        call_input: dict[str, Any] = {}
        keys: dict[str, Any] = {}
        for key, ref in (step.get("input") or {}).items():
            if isinstance(ref, str) and ref.startswith("$.data."):
                name = ref.removeprefix("$.data.")
                value = data.get(name) or (mandates[0] if len(mandates) == 1 else None)
                if value is None:
                    break
                call_input[key], keys[name] = value, value
            else:
                call_input[key] = ref
        else:
            plans.append(
                PrefillPlan(capability, str(step.get("department")), call_input, fields, keys)
            )
    return plans


async def apply_prefill(
    uow: UnitOfWork,
    clock: Clock,
    gateway: CapabilityGateway,
    principal: Principal,
    draft_id: str,
    consent: bool,
) -> int:
    """Record the applicant's consent and, when given, fill answers from the registers.

    Returns how many answers were filled. Each register read is audited as a read of the
    applicant's data with its purpose; a register that does not answer fills nothing.
    """
    draft = await get_draft(uow, principal, draft_id)
    filled: dict[str, Any] = {}
    sources: dict[str, Any] = {}
    reads: list[PrefillPlan] = []
    if consent:
        for plan in prefill_plans(draft.blueprint, principal, draft.data):
            try:
                result = await gateway.call(
                    CapabilityCall(
                        department=plan.department,
                        capability=plan.capability,
                        input=plan.input,
                        idempotency_key=f"prefill:{draft.id}:{plan.capability}",
                    )
                )
            except Exception as exc:  # a register that is down must not stop the form
                log.warning(
                    "prefill_unavailable", capability=plan.capability, error=type(exc).__name__
                )
                continue
            if result.outcome is not CallOutcome.COMPLETED:
                continue
            reads.append(plan)
            for name, value in plan.keys.items():
                filled[name] = value
                sources[name] = {"department": plan.department, "kind": "mandate"}
            for name, path in plan.fields.items():
                value = result.output.get(path)
                if value not in (None, ""):
                    filled[name] = value
                    sources[name] = {"department": plan.department, "kind": "register"}
    async with uow:
        row = await _row(uow, principal, draft_id)
        now = clock.now()
        row.prefill_consent = "given" if consent else "declined"
        row.data = {**row.data, **filled}
        row.prefilled = sources
        row.updated_at = now
        for plan in reads:
            await append_audit(
                uow.session,
                AuditRecord(
                    actor=principal.audit_name,
                    action="register.read",
                    subject_type="draft",
                    subject_id=row.id,
                    occurred_at=now,
                    department=plan.department,
                    purpose="prefill the applicant's form with their consent (once-only)",
                    fields=tuple(sorted(plan.fields)),
                    details={"capability": plan.capability, "service": row.service_id},
                ),
            )
        await uow.commit()
    return len(filled)


async def submit_draft(
    uow_factory: Any, clock: Clock, principal: Principal, draft_id: str
) -> ApplicationView:
    """Send the draft as an application (idempotent: a second click returns the first one)."""
    draft = await get_draft(uow_factory(), principal, draft_id)
    if draft.blueprint.form.json_schema and not draft.data:
        raise ValidationFailed([FieldError("data", "required", "answer the questions first")])
    view, _ = await submit_application(
        uow_factory(),
        clock,
        principal,
        SubmitApplication(
            service_id=draft.service_id, data=draft.data, idempotency_key=draft.idempotency_key
        ),
    )
    uow = uow_factory()
    async with uow:
        row = await _row(uow, principal, draft_id)
        row.application_id, row.updated_at = view.id, clock.now()
        await uow.commit()
    return view
