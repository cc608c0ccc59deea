"""HTTP: payment intents, provider webhooks, refunds, receipts and reconciliation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.responses import HTMLResponse, PlainTextResponse

from civicloom.applications import find_application
from civicloom.identity import APPLICANT_ROLES
from civicloom.kernel import DomainError, FieldError, NotFound, PathId, ValidationFailed
from civicloom.payments.access import READER_ROLES, REFUNDER_ROLES
from civicloom.payments.ports import PAYMENT_PROVIDER, PaymentProvider
from civicloom.payments.reconciliation import (
    findings_csv,
    get_reconciliation,
    reconcile_settlement,
)
from civicloom.payments.refunds import receipt_html, refund_payment
from civicloom.payments.schemas import (
    PROBLEMS,
    PaymentCreate,
    PaymentOut,
    ReconciliationOut,
    RefundCreate,
    RefundOut,
)
from civicloom.payments.services import (
    create_payment,
    get_payment,
    handle_webhook,
    list_payments,
)
from civicloom.registries import still_acting_for
from civicloom.web import (
    ContainerDep,
    CurrentPrincipal,
    GatewayDep,
    component,
    public_route,
    require_roles,
)

payments_router = APIRouter(tags=["payments"], responses=PROBLEMS)
_PAYER = require_roles(
    *sorted(APPLICANT_ROLES), scope="payments:write", conceal=True, owner_scoped=True
)
# Operators do not see payments (403); payers, the fee department's staff and finance officers
# and auditors do, each payment further limited to them by payments/access.py (else 404).
_READER = require_roles(*READER_ROLES, scope="payments:read", owner_scoped=True)
# Only finance officers (of the fee's department, checked per payment) refund.
_REFUNDER = require_roles(*REFUNDER_ROLES, scope="payments:refund", owner_scoped=True)
_RECONCILER = require_roles("operator", scope="payments:reconcile")
IdempotencyKey = Annotated[str | None, Header(max_length=200)]


class WebhookSignatureInvalid(DomainError):
    """A webhook whose signature or timestamp could not be verified (nothing was changed)."""

    slug = "webhook-signature"
    title = "Webhook signature not valid"
    status = 400


PaymentProviderDep = Annotated[PaymentProvider, Depends(component(PAYMENT_PROVIDER))]
"""The process's payment service provider (swap with ``dependency_overrides[component(…)]``)."""


def _key(value: str | None) -> str:
    if not value or len(value) < 8:
        raise ValidationFailed(
            [FieldError("Idempotency-Key", "required", "send an Idempotency-Key header (8+ chars)")]
        )
    return value


@payments_router.post(
    "/api/v1/applications/{application_id}/payments",
    status_code=201,
    response_model=PaymentOut,
    dependencies=[_PAYER],
)
async def start_payment(
    psp: PaymentProviderDep,
    application_id: PathId,
    body: PaymentCreate,
    request: Request,
    response: Response,
    container: ContainerDep,
    principal: CurrentPrincipal,
    gateway: GatewayDep,
    idempotency_key: IdempotencyKey = None,
) -> PaymentOut:
    """Start paying the fee due: answers the provider's hosted page as ``next_url``.

    For a business, the payer must still be able to act for it (ADR 0041)."""
    async with container.uow() as uow:
        found = await find_application(uow.session, application_id)
    if found is not None:
        await still_acting_for(container.uow, gateway, container.clock, principal, found)
    view, created = await create_payment(
        container,
        psp,
        principal,
        application_id,
        _key(idempotency_key),
        body.return_url,
    )
    response.status_code = 201 if created else 200
    response.headers["Location"] = f"/api/v1/payments/{view.id}"
    return PaymentOut.of(view)


@payments_router.get(
    "/api/v1/applications/{application_id}/payments",
    operation_id="listApplicationPayments",
    summary="List an application's payments",
    response_model=list[PaymentOut],
    dependencies=[_PAYER],
)
async def application_payments(
    application_id: PathId, container: ContainerDep, principal: CurrentPrincipal
) -> list[PaymentOut]:
    """The payments of one of the caller's applications."""
    views = await list_payments(container, principal, application_id)
    return [PaymentOut.of(v) for v in views]


@payments_router.get(
    "/api/v1/payments/{payment_id}", response_model=PaymentOut, dependencies=[_READER]
)
async def read_payment(
    payment_id: PathId, container: ContainerDep, principal: CurrentPrincipal
) -> PaymentOut:
    """One payment."""
    return PaymentOut.of(await get_payment(container, principal, payment_id))


@payments_router.get(
    "/api/v1/payments/{payment_id}/receipt",
    operation_id="readPaymentReceipt",
    summary="A payment's receipt",
    response_class=HTMLResponse,
    dependencies=[_READER],
)
async def payment_receipt(
    payment_id: PathId, container: ContainerDep, principal: CurrentPrincipal
) -> HTMLResponse:
    """A printable receipt of a paid fee."""
    return HTMLResponse(await receipt_html(container, principal, payment_id))


@payments_router.post(
    "/api/v1/payments/{payment_id}/refunds",
    operation_id="refundPayment",
    summary="Refund part or all of a payment",
    status_code=201,
    response_model=RefundOut,
    dependencies=[_REFUNDER],
)
async def refund(
    psp: PaymentProviderDep,
    payment_id: PathId,
    body: RefundCreate,
    request: Request,
    response: Response,
    container: ContainerDep,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> RefundOut:
    """Refund part or all of a paid fee (finance officers of the fee's department): recorded
    as pending, then accepted or failed by the provider; never more than was paid, never twice.
    """
    view, created = await refund_payment(
        container,
        psp,
        principal,
        payment_id,
        _key(idempotency_key),
        body.amount,
        body.reason,
    )
    response.status_code = 201 if created else 200
    return RefundOut.of(view)


@payments_router.post(
    "/api/v1/payments/webhooks/{provider}",
    dependencies=[public_route()],
    responses={200: {"content": {"application/json": {"example": {"status": "processed"}}}}},
)
async def provider_webhook(
    psp: PaymentProviderDep, provider: PathId, request: Request, container: ContainerDep
) -> dict[str, str]:
    """A signed provider webhook (the handler verifies the signature; duplicates are no-ops).

    `provider` names the process's payment provider (the sandbox: `sandbox`); any other name is
    a 404 `not-found`, a signature or timestamp that cannot be verified a 400
    `webhook-signature`. Nothing is changed by either."""
    chosen = psp
    if provider != chosen.name:
        raise NotFound(f"no webhooks are expected from payment provider {provider!r}")
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        fresh = await handle_webhook(container, chosen, headers, body)
    except DomainError as exc:
        if exc.status == 401:
            raise WebhookSignatureInvalid(exc.detail) from exc
        raise
    return {"status": "processed" if fresh else "duplicate"}


@payments_router.post(
    "/api/v1/payments/reconciliations",
    operation_id="reconcilePayments",
    summary="Reconcile payments with the provider's report",
    status_code=201,
    response_model=ReconciliationOut,
    dependencies=[_RECONCILER],
)
async def reconcile(
    psp: PaymentProviderDep, request: Request, container: ContainerDep, principal: CurrentPrincipal
) -> ReconciliationOut:
    """Import a provider settlement file (CSV body) and report what does not match."""
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed([FieldError("file", "utf-8", "the file must be UTF-8")]) from None
    provider = psp.name
    return ReconciliationOut.of(await reconcile_settlement(container, principal, provider, text))


@payments_router.get(
    "/api/v1/payments/reconciliations/{reconciliation_id}",
    response_model=ReconciliationOut,
    dependencies=[_RECONCILER],
)
async def read_reconciliation(
    reconciliation_id: PathId, container: ContainerDep
) -> ReconciliationOut:
    """One reconciliation run with its findings."""
    return ReconciliationOut.of(await get_reconciliation(container, reconciliation_id))


@payments_router.get(
    "/api/v1/payments/reconciliations/{reconciliation_id}/findings.csv",
    operation_id="downloadReconciliationFindings",
    summary="A reconciliation's findings as CSV",
    response_class=PlainTextResponse,
    dependencies=[_RECONCILER],
)
async def reconciliation_findings_csv(
    reconciliation_id: PathId, container: ContainerDep
) -> PlainTextResponse:
    """A run's findings as CSV."""
    view = await get_reconciliation(container, reconciliation_id)
    return PlainTextResponse(findings_csv(view), media_type="text/csv")
