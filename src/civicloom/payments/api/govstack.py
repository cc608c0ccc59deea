"""GovStack Payments (person-to-government) facade: bill inquiry and payment notification.

A bill is an application's due fee, identified by the application reference. Payer
financial institutions are machine clients: they authenticate with a platform API key holding
the scope ``payments:p2g`` (``apiKey`` header or ``Authorization: Bearer``); no person, not even
an operator, may call these routes (ADR 0033). A payment notification must name a bill whose fee
is due and the exact amount and currency due; it then pays the fee once (superseding any open
portal intent), and a replay of the same payment reference changes nothing. Every notification,
accepted, replayed or refused, is audited (``AuditAction.PAYMENT_P2G_NOTIFICATION``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.applications import (
    ApplicationRecord,
    AuditNote,
    TaskState,
    TaskView,
    complete_external_step,
    find_application_by_reference,
    find_waiting_task,
    record_case_change,
    tasks_of_application,
)
from civicloom.audit import AuditAction, AuditRecord, append_audit
from civicloom.catalogue import StepKind
from civicloom.departments import ExternalCompletion
from civicloom.identity import Forbidden, Role, authenticate_api_key
from civicloom.kernel import PathId, Principal, new_id
from civicloom.payments.domain import MAX_MINOR, PaymentState, format_minor, to_minor
from civicloom.payments.schemas import PROBLEMS
from civicloom.payments.services import record, supersede_open
from civicloom.payments.tables import PaymentRow
from civicloom.runtime import Container
from civicloom.web import ContainerDep, CurrentPrincipal, require_roles

PROVIDER = "govstack-p2g"


async def api_key_header(request: Request, container: ContainerDep) -> None:
    """Accept GovStack's ``api_key``/``apiKey`` header as a platform API key (before the guard)."""
    key = request.headers.get("api_key", "") or request.headers.get("apikey", "")
    if key.startswith("cl_") and not hasattr(request.state, "principal"):
        client = await authenticate_api_key(container.uow(), container.clock, key)
        if client is not None:
            request.state.principal = client


p2g_router = APIRouter(tags=["govstack-payments"], responses=PROBLEMS)
# Machine clients with the scope only: a person (whatever the role) gets 403.
_P2G = [Depends(api_key_header), require_roles(Role.MACHINE_CLIENT, scope="payments:p2g")]


class BillTransferRequest(
    BaseModel,
    json_schema_extra={
        "examples": [
            {
                "requestId": "REQ000000042",
                "billInquiryRequestId": "INQ000000042",
                "billId": "ORR-2026-000042",
                "paymentReferenceID": "P2G-7Q2K9",
                "paidAmount": 25000,
                "currency": "EUR",
            }
        ]
    },
):
    """Payment notification from a payer FI: which bill, which payment, how much was paid."""

    requestId: str = Field(max_length=12)  # noqa: N815 - GovStack field names
    billInquiryRequestId: str = Field(max_length=12)  # noqa: N815
    billId: str = Field(min_length=1, max_length=30)  # noqa: N815
    paymentReferenceID: str = Field(  # noqa: N815
        min_length=1, max_length=16, pattern=r"^[A-Za-z0-9._-]+$"
    )
    paidAmount: int = Field(  # noqa: N815
        gt=0, lt=MAX_MINOR, description="Amount paid in minor units (as amountonDueDate)."
    )
    currency: str = Field(pattern=r"^[A-Z]{3}$")


class BillTransferReply(
    BaseModel,
    json_schema_extra={
        "examples": [
            {"responseCode": "00", "reason": "Payment recorded", "requestID": "REQ000000042"}
        ]
    },
):
    """GovStack's answer to a payment notification: ``responseCode`` ``00`` when the payment is
    recorded (or was already), ``01`` when it is refused (``reason`` says why)."""

    responseCode: str = Field(pattern=r"^(00|01)$")  # noqa: N815 - GovStack field names
    reason: str
    requestID: str  # noqa: N815


_GOVSTACK_REFUSAL: dict[str, Any] = {  # PaymentProblem is a component through PROBLEMS
    "model": BillTransferReply,
    "content": {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/PaymentProblem"}}
    },
}
# A notification GovStack refuses is answered in GovStack's shape (application/json,
# responseCode 01): 400 an unknown bill, no payment due or the wrong amount or currency, 409 a
# bill already paid or a payment reference used for another payment. The platform's own refusals
# (malformed JSON 400, authentication, fields) stay problem+json.
_BILL_TRANSFER_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"model": BillTransferReply, "description": "Recorded (or already recorded): 00"},
    400: {**_GOVSTACK_REFUSAL, "description": "Refused by GovStack rules (01), or malformed"},
    409: {**_GOVSTACK_REFUSAL, "description": "Already paid, or the reference was reused (01)"},
}


def _reply(status: int, code: str, reason: str, request_id: str) -> JSONResponse:
    return JSONResponse(
        {"responseCode": code, "reason": reason, "requestID": request_id}, status_code=status
    )


async def _bill(container: Container, bill_id: str) -> tuple[ApplicationRecord, TaskView] | None:
    async with container.uow() as uow:
        app = await find_application_by_reference(uow.session, bill_id)
        if app is None:
            return None
        tasks = await tasks_of_application(uow.session, app.id, [s.value for s in TaskState])
        task = next((t for t in tasks if t.kind == StepKind.PAYMENT), None)
        return (app, task) if task is not None else None


@p2g_router.get(
    "/bills/{billId}",
    dependencies=_P2G,
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "requestId": "INQ000000042",
                        "code": "00",
                        "reason": "",
                        "billId": "ORR-2026-000042",
                        "billDetails": {
                            "billerId": "local-admi",
                            "billerName": "local-admi",
                            "billStatus": "UNPAID",
                            "dueDate": 1773072000,
                            "amountonDueDate": 25000,
                            "amountAfterDueDate": 25000,
                            "currency": "EUR",
                        },
                    }
                }
            }
        }
    },
)
async def bill_inquiry(
    billId: PathId,  # noqa: N803 - the spec's parameter name
    container: ContainerDep,
    x_correlationid: Annotated[str, Header(max_length=20)] = "",
) -> dict[str, Any]:
    """Bill inquiry: what is due on an application (amounts in minor units)."""
    found = await _bill(container, billId)
    if found is None:
        return {
            "requestId": x_correlationid,
            "code": "01",
            "reason": "unknown bill",
            "billId": billId,
        }
    _app, task = found
    inputs = task.input or {}
    amount = to_minor(inputs.get("amount")) if inputs.get("amount") is not None else 0
    paid = task.state == TaskState.COMPLETED.value
    due = int(task.sla_due_at.timestamp()) if task.sla_due_at else None
    return {
        "requestId": x_correlationid,
        "code": "00",
        "reason": "",
        "billId": billId,
        "billDetails": {
            "billerId": (task.department or "")[:10],
            "billerName": (task.department or "")[:10],
            "billStatus": "PAID" if paid else ("UNPAID" if inputs else "NOT_DUE"),
            "dueDate": due,
            "amountonDueDate": amount,
            "amountAfterDueDate": amount,
            "currency": str(inputs.get("currency") or ""),
        },
    }


@dataclass(frozen=True)
class BillOutcome:
    """What became of a payment notification: its HTTP status, GovStack code and reason."""

    status: int
    code: str
    reason: str


@p2g_router.post(
    "/billTransferRequests",
    status_code=202,
    response_model=BillTransferReply,
    responses=_BILL_TRANSFER_RESPONSES,
    dependencies=_P2G,
)
async def bill_transfer(
    body: BillTransferRequest, container: ContainerDep, principal: CurrentPrincipal
) -> JSONResponse:
    """Payment notification: the payer's FI has paid the bill; settle it once."""
    outcome = await settle_bill(
        container, principal, body.billId, body.paymentReferenceID, body.paidAmount, body.currency
    )
    return _reply(outcome.status, outcome.code, outcome.reason, body.requestId)


async def _refuse(
    container: Container,
    principal: Principal,
    bill_id: str,
    payment_reference: str,
    status: int,
    reason: str,
    details: dict[str, Any],
) -> BillOutcome:
    """Audit a refused notification (nothing else is written) and answer it."""
    async with container.uow() as uow:
        await append_audit(
            uow.session,
            AuditRecord(
                actor=principal.audit_name,
                action=AuditAction.PAYMENT_P2G_NOTIFICATION,
                subject_type="bill",
                subject_id=bill_id[:30],
                occurred_at=container.clock.now(),
                details={
                    "outcome": "refused",
                    "reason": reason,
                    "payment_reference": payment_reference,
                    **details,
                },
            ),
        )
        await uow.commit()
    return BillOutcome(status, "01", reason)


async def settle_bill(
    container: Container,
    principal: Principal,
    bill_id: str,
    payment_reference: str,
    paid_minor: int,
    currency: str,
) -> BillOutcome:
    """Record a bill paid through a payer FI: the fee due, paid once (replays change nothing)."""
    if Role.MACHINE_CLIENT.value not in principal.roles:
        raise Forbidden("payment notifications come from payer institutions' machine clients")
    now = container.clock.now()
    paid = {"amount_minor": paid_minor, "currency": currency}
    async with container.uow() as uow:
        session = uow.session
        app = await find_application_by_reference(session, bill_id)
        existing = await session.scalar(
            select(PaymentRow).where(
                PaymentRow.provider == PROVIDER, PaymentRow.provider_reference == payment_reference
            )
        )
        refusal, task = await _check_bill(session, app, existing, paid_minor, currency)
        if refusal is None:
            assert app is not None
            try:
                existing, outcome = await _write_paid(
                    session, app, task, existing, principal, payment_reference, paid, now
                )
                key = existing.payment_key
                output = {
                    "payment_id": existing.id,
                    "amount": format_minor(existing.amount_minor),
                    "currency": existing.currency,
                }
                await uow.commit()
            except IntegrityError:  # paid concurrently (one succeeded payment per fee)
                refusal = (409, "this bill has already been paid")
        # A refusal leaves the transaction uncommitted: nothing of it is kept.
    if refusal is not None:
        return await _refuse(container, principal, bill_id, payment_reference, *refusal, paid)
    await complete_external_step(
        container, ExternalCompletion(idempotency_key=key, output=output, received_from="payments")
    )
    return outcome


async def _write_paid(
    session: AsyncSession,
    app: ApplicationRecord,
    task: TaskView | None,
    existing: PaymentRow | None,
    principal: Principal,
    payment_reference: str,
    paid: dict[str, Any],
    now: datetime,
) -> tuple[PaymentRow, BillOutcome]:
    """Record the payment (unless a replay) and the audit entry of the notification."""
    if existing is None:
        assert task is not None
        existing = await _record_paid(
            session,
            app,
            task,
            principal,
            payment_reference,
            int(paid["amount_minor"]),
            str(paid["currency"]),
            now,
        )
        outcome = BillOutcome(202, "00", "payment recorded")
    else:
        outcome = BillOutcome(202, "00", "payment already recorded")
    await record_case_change(
        session,
        app,
        now,
        audit=AuditNote(
            principal.audit_name,
            AuditAction.PAYMENT_P2G_NOTIFICATION,
            existing.department,
            {
                "outcome": "recorded" if task is not None else "duplicate",
                "payment_id": existing.id,
                "payment_reference": payment_reference,
                **paid,
            },
        ),
    )
    return existing, outcome


async def _check_bill(
    session: AsyncSession,
    app: ApplicationRecord | None,
    existing: PaymentRow | None,
    paid_minor: int,
    currency: str,
) -> tuple[tuple[int, str] | None, TaskView | None]:
    """Why a notification is refused (None: accepted) and the payment task it pays (None for
    a replay of a payment already recorded)."""
    if existing is not None:
        same = (
            app is not None
            and existing.application_id == app.id
            and existing.amount_minor == paid_minor
            and existing.currency == currency
        )
        return (
            None if same else (409, "this payment reference was used for another payment")
        ), None
    if app is None:
        return (400, "unknown bill"), None
    already = await session.scalar(
        select(PaymentRow.id).where(
            PaymentRow.application_id == app.id, PaymentRow.state == PaymentState.SUCCEEDED.value
        )
    )
    if already is not None:
        return (409, "this bill has already been paid"), None
    task = await find_waiting_task(session, app.id, "payment")
    inputs = (task.input or {}) if task is not None else {}
    if task is None or inputs.get("amount") is None:
        return (400, "no payment is due on this bill"), None
    due = (to_minor(inputs.get("amount")), str(inputs.get("currency") or "EUR").upper())
    if due != (paid_minor, currency):
        return (400, "the amount or currency paid is not the amount due on this bill"), None
    return None, task


async def _record_paid(
    session: AsyncSession,
    app: ApplicationRecord,
    task: TaskView,
    principal: Principal,
    payment_reference: str,
    paid_minor: int,
    currency: str,
    now: datetime,
) -> PaymentRow:
    """The fee paid through the FI: supersede the open intent, record and announce it."""
    await supersede_open(session, app, task.idempotency_key, now, principal.audit_name)
    row = PaymentRow(
        id=new_id(),
        application_id=app.id,
        payment_key=task.idempotency_key,
        department=task.department,
        payer_id=principal.subject,
        idempotency_key=payment_reference,
        request_hash="",
        provider=PROVIDER,
        provider_reference=payment_reference,
        amount_minor=paid_minor,
        currency=currency,
        refunded_minor=0,
        state=PaymentState.SUCCEEDED.value,
        created_at=now,
        updated_at=now,
        paid_at=now,
    )
    session.add(row)
    await session.flush()  # a concurrent payment of the fee fails here (IntegrityError)
    amount = f"{format_minor(paid_minor)} {currency}"
    await record(
        session,
        app,
        now,
        "payment.received",
        f"We received your payment of {amount}",
        principal.audit_name,
        {"payment_id": row.id, "amount": format_minor(paid_minor), "currency": currency},
        task.department,
    )
    return row
