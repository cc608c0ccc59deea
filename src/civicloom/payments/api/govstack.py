"""GovStack Payments (person-to-government) facade: bill inquiry and payment notification.

A bill is an application's due fee, identified by the application reference. Payer
financial institutions authenticate with a platform API key (scope ``payments:p2g``) in the
``apiKey`` header or as ``Authorization: Bearer``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from civicloom.applications import (
    ApplicationRecord,
    TaskState,
    TaskView,
    complete_external_step,
    find_application_by_reference,
    find_waiting_task,
    tasks_of_application,
)
from civicloom.catalogue import StepKind
from civicloom.departments import ExternalCompletion
from civicloom.identity import authenticate_api_key
from civicloom.kernel import Principal, new_id
from civicloom.payments.domain import PaymentState, format_minor, to_minor
from civicloom.payments.schemas import PROBLEMS
from civicloom.payments.services import record
from civicloom.payments.tables import PaymentRow
from civicloom.runtime import Container
from civicloom.web import ContainerDep, CurrentPrincipal, require_roles

PROVIDER = "govstack-p2g"


async def api_key_header(request: Request, container: ContainerDep) -> None:
    """Accept GovStack's ``apiKey`` header as a platform API key (before the route guard)."""
    key = request.headers.get("apikey", "")
    if key.startswith("cl_") and not hasattr(request.state, "principal"):
        client = await authenticate_api_key(container.uow(), container.clock, key)
        if client is not None:
            request.state.principal = client


p2g_router = APIRouter(tags=["govstack-payments"], responses=PROBLEMS)
_P2G = [Depends(api_key_header), require_roles("operator", scope="payments:p2g")]


class BillTransferRequest(BaseModel):
    """Payment notification from a payer FI."""

    requestId: str = Field(max_length=12)  # noqa: N815 - GovStack field names
    billInquiryRequestId: str = Field(max_length=12)  # noqa: N815
    billId: str = Field(max_length=30)  # noqa: N815
    paymentReferenceID: str = Field(min_length=1, max_length=16)  # noqa: N815


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


@p2g_router.get("/bills/{billId}", dependencies=_P2G)
async def bill_inquiry(
    billId: str,  # noqa: N803 - the spec's parameter name
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


@p2g_router.post("/billTransferRequests", status_code=202, dependencies=_P2G)
async def bill_transfer(
    body: BillTransferRequest, container: ContainerDep, principal: CurrentPrincipal
) -> JSONResponse:
    """Payment notification: the payer's FI has paid the bill; settle it once."""
    outcome = await settle_bill(container, principal, body.billId, body.paymentReferenceID)
    if outcome is None:
        return _reply(400, "01", "no payment is due on this bill", body.requestId)
    return _reply(202, "00", outcome, body.requestId)


async def settle_bill(
    container: Container, principal: Principal, bill_id: str, payment_reference: str
) -> str | None:
    """Record a bill paid through a payer FI (idempotent by payment reference)."""
    now = container.clock.now()
    async with container.uow() as uow:
        session = uow.session
        existing = await session.scalar(
            select(PaymentRow).where(PaymentRow.provider_reference == payment_reference)
        )
        if existing is None:
            app = await find_application_by_reference(session, bill_id)
            task = None
            if app is not None:
                task = await find_waiting_task(session, app.id, "payment")
            if app is None or task is None:
                return None
            inputs = task.input or {}
            existing = PaymentRow(
                id=new_id(),
                application_id=app.id,
                payment_key=task.idempotency_key,
                payer_id=principal.subject,
                idempotency_key=payment_reference,
                request_hash="",
                provider=PROVIDER,
                provider_reference=payment_reference,
                amount_minor=to_minor(inputs.get("amount")),
                currency=str(inputs.get("currency") or "EUR").upper(),
                refunded_minor=0,
                state=PaymentState.SUCCEEDED.value,
                created_at=now,
                updated_at=now,
                paid_at=now,
            )
            session.add(existing)
            amount = f"{format_minor(existing.amount_minor)} {existing.currency}"
            await record(
                session,
                app,
                now,
                "payment.received",
                f"We received your payment of {amount}",
                principal.audit_name,
                {
                    "payment_id": existing.id,
                    "amount": format_minor(existing.amount_minor),
                    "currency": existing.currency,
                },
                task.department,
            )
            await uow.commit()
            reason = "payment recorded"
        else:
            reason = "payment already recorded"
        key, output = (
            existing.payment_key,
            {
                "payment_id": existing.id,
                "amount": format_minor(existing.amount_minor),
                "currency": existing.currency,
            },
        )
    await complete_external_step(
        container, ExternalCompletion(idempotency_key=key, output=output, received_from="payments")
    )
    return reason
