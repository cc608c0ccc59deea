"""A case whose every kind of answerable task waits at once, and a snapshot of what a refused
answer must not touch (shared by the engine and callback binding tests, ADR 0032)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from civicloom.applications.tables import ApplicationRow, TaskRow, TimelineRow
from civicloom.audit.tables import AuditEntryRow
from civicloom.catalogue import Blueprint
from civicloom.departments import CallOutcome, CapabilityCall, CapabilityResult
from civicloom.outbox.tables import OutboxRow
from civicloom.runtime import Container


def binding_blueprint() -> Blueprint:
    """Environment screening and local-admin zoning (both answered later), the fee payment and
    an officer review, all waiting at the same time."""
    return Blueprint.model_validate(
        {
            "id": "binding-test",
            "version": 1,
            "owner": "local-admin",
            "reference_prefix": "BND",
            "title": {"en": "Binding test", "zh-Hans": "绑定测试"},
            "form": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "parcel_id": {"type": "string", "x-visible-to": ["local-admin"]},
                        "seating": {
                            "type": "integer",
                            "x-visible-to": ["local-admin", "environment"],
                        },
                    },
                }
            },
            "fees": {"model": "local-admin/licence-fee", "input": {"seating": "$.data.seating"}},
            "steps": [
                {
                    "id": "screening",
                    "kind": "automated",
                    "department": "environment",
                    "capability": "environment.screening",
                    "input": {"seating": "$.data.seating"},
                },
                {
                    "id": "zoning",
                    "kind": "automated",
                    "department": "local-admin",
                    "capability": "local-admin.zoning_check",
                    "input": {"parcel_id": "$.data.parcel_id", "activity": "restaurant"},
                    "reject_when": "steps.zoning.output.allowed == false",
                },
                {
                    "id": "payment",
                    "kind": "payment",
                    "department": "local-admin",
                    "input": {
                        "amount": "$.decisions.fees.fee",
                        "currency": "$.decisions.fees.currency",
                    },
                },
                {
                    "id": "review",
                    "kind": "officer_review",
                    "department": "local-admin",
                    "role": "licensing-officer",
                },
            ],
        }
    )


class AcceptEverything:
    """Every department accepts the call and will answer later."""

    def __init__(self) -> None:
        self.calls: list[CapabilityCall] = []

    async def call(self, call: CapabilityCall) -> CapabilityResult:
        self.calls.append(call)
        return CapabilityResult(outcome=CallOutcome.ACCEPTED, external_reference="REF-1")


@dataclass(frozen=True)
class Snapshot:
    """Everything a completion could change about one case, and the platform-wide counts."""

    app: tuple[Any, ...]
    tasks: dict[str, tuple[Any, ...]]
    timeline: int
    outbox: int
    audit_other: int
    refusals: int


async def snapshot(container: Container, app_id: str) -> Snapshot:
    """What the case and the platform look like now."""
    async with container.uow() as uow:
        s = uow.session
        app = await s.get(ApplicationRow, app_id)
        assert app is not None
        tasks = {
            t.step_id: (t.state, t.output, t.completed_at, t.updated_at, t.lease_owner)
            for t in await s.scalars(select(TaskRow).where(TaskRow.application_id == app_id))
        }
        refused = AuditEntryRow.action == "completion.refused"
        return Snapshot(
            app=(app.state, app.decided_at, app.updated_at, app.decisions),
            tasks=tasks,
            timeline=await _count(s, select(func.count()).select_from(TimelineRow)),
            outbox=await _count(s, select(func.count()).select_from(OutboxRow)),
            audit_other=await _count(
                s, select(func.count()).select_from(AuditEntryRow).where(~refused)
            ),
            refusals=await _count(
                s, select(func.count()).select_from(AuditEntryRow).where(refused)
            ),
        )


async def _count(session: Any, query: Any) -> int:
    return int(await session.scalar(query) or 0)


async def keys_of(container: Container, app_id: str) -> dict[str, str]:
    """Each step's idempotency key (the correlation id its department echoes)."""
    async with container.uow() as uow:
        rows = await uow.session.scalars(select(TaskRow).where(TaskRow.application_id == app_id))
        return {t.step_id: t.idempotency_key for t in rows}


async def refusals(container: Container) -> list[tuple[str, str, dict[str, Any]]]:
    """Every audited refusal: (actor, subject, details), oldest first."""
    async with container.uow() as uow:
        rows = await uow.session.scalars(
            select(AuditEntryRow)
            .where(AuditEntryRow.action == "completion.refused")
            .order_by(AuditEntryRow.seq)
        )
        return [(r.actor, r.subject_id, dict(r.details or {})) for r in rows]
