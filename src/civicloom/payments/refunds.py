"""Refunds (full or partial, never more than paid, never twice, announced only once the
provider accepted them) and receipts. See ADR 0033.

A refund is first recorded as *pending* with its amount reserved against the payment (so
refunds together never exceed what was paid); the provider is then asked outside any
transaction, keyed by the refund id; its answer moves the refund to *accepted* (the citizen is
told, the event is published) or *failed* (the reservation is released). A provider that
cannot be reached leaves the refund pending; a retry with the same Idempotency-Key asks again.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.applications import AuditNote, find_application, record_case_change
from civicloom.audit import AuditAction
from civicloom.kernel import FieldError, NotFound, Principal, ValidationFailed, new_id
from civicloom.observability import get_logger
from civicloom.payments.access import may_read_payment, may_refund_payment
from civicloom.payments.domain import PaymentState, RefundState, format_minor, to_minor
from civicloom.payments.ports import PaymentProvider
from civicloom.payments.services import ProviderError, record
from civicloom.payments.tables import PaymentRow, RefundRow
from civicloom.runtime import Container

log = get_logger(__name__)
ACCEPTED_BY_PROVIDER = frozenset({"succeeded"})
"""The provider's refund statuses that mean the money went back: only then is it announced."""
REFUSED_BY_PROVIDER = frozenset({"failed", "canceled", "cancelled", "rejected"})
"""Statuses that end the refund as failed and release its reservation."""


@dataclass(frozen=True)
class RefundView:
    """A refund as the API shows it."""

    id: str
    payment_id: str
    amount: str
    reason: str
    state: str
    provider_reference: str | None
    created_at: datetime


def _view(row: RefundRow) -> RefundView:
    return RefundView(
        row.id,
        row.payment_id,
        format_minor(row.amount_minor),
        row.reason,
        row.state,
        row.provider_reference,
        row.created_at,
    )


def _refundable(payment: PaymentRow) -> bool:
    # A paid fee, or a replaced attempt the payer paid late (its money must go back).
    return payment.state == PaymentState.SUCCEEDED.value or (
        payment.state == PaymentState.SUPERSEDED.value and payment.paid_at is not None
    )


async def _locked_payment(session: AsyncSession, payment_id: str) -> PaymentRow | None:
    query = select(PaymentRow).where(PaymentRow.id == payment_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return await session.scalar(query)


async def refund_payment(
    container: Container,
    provider: PaymentProvider,
    principal: Principal,
    payment_id: str,
    idempotency_key: str,
    amount: object,
    reason: str,
) -> tuple[RefundView, bool]:
    """Refund part or all of a paid fee: reserve, ask the provider, then record its answer.

    Only a finance officer of the fee's department may refund (anyone else: 404, the payment
    does not exist for them). A refused request leaves no row, no event and no provider call.
    """
    now = container.clock.now()
    amount_minor = to_minor(amount, "amount")
    full_key = f"{payment_id}:{idempotency_key}"
    created = False
    async with container.uow() as uow:
        session = uow.session
        payment = await _locked_payment(session, payment_id)
        if (
            payment is None
            or not may_read_payment(principal, payment.payer_id, payment.department)
            or not may_refund_payment(principal, payment.department)
        ):
            raise NotFound("no such payment for this caller")
        refund = await session.scalar(
            select(RefundRow).where(RefundRow.idempotency_key == full_key)
        )
        if refund is not None and refund.amount_minor != amount_minor:
            raise ValidationFailed(
                [FieldError("Idempotency-Key", "reused", "this key was used with another amount")]
            )
        if refund is None:
            if not _refundable(payment):
                raise ValidationFailed(
                    [FieldError("payment", "paid", "only a paid payment can be refunded")]
                )
            if payment.provider != provider.name or payment.provider_reference is None:
                raise ValidationFailed(
                    [
                        FieldError(
                            "payment",
                            "provider",
                            f"this payment was made through {payment.provider}; refund it there",
                        )
                    ]
                )
            remaining = payment.amount_minor - payment.refunded_minor
            if amount_minor > remaining:
                raise ValidationFailed(
                    [
                        FieldError(
                            "amount",
                            "maximum",
                            f"at most {format_minor(remaining)} {payment.currency} "
                            "can still be refunded",
                        )
                    ]
                )
            payment.refunded_minor += amount_minor  # reserved until the provider answers
            payment.updated_at = now
            refund = RefundRow(
                id=new_id(),
                payment_id=payment.id,
                idempotency_key=full_key,
                amount_minor=amount_minor,
                reason=reason,
                state=RefundState.PENDING.value,
                requested_by=principal.audit_name,
                created_at=now,
            )
            session.add(refund)
            app = await find_application(session, payment.application_id)
            assert app is not None
            await record_case_change(  # audited, but not announced: the provider has not said yes
                session,
                app,
                now,
                audit=AuditNote(
                    principal.audit_name,
                    AuditAction.PAYMENT_REFUND_REQUESTED,
                    payment.department,
                    {
                        "payment_id": payment.id,
                        "refund_id": refund.id,
                        "amount": format_minor(amount_minor),
                        "currency": payment.currency,
                    },
                ),
            )
            await uow.commit()
            created = True
        refund_id, provider_ref = refund.id, payment.provider_reference
        pending = refund.state == RefundState.PENDING.value
    if pending and provider_ref is not None:
        try:
            answer = await provider.refund(refund_id, provider_ref, amount_minor)
        except ValidationFailed as refused:
            await _settle_refund(container, refund_id, None, principal.audit_name)
            raise ValidationFailed(
                [FieldError("amount", "provider", refused.detail or "refused by the provider")],
                detail=refused.detail,
            ) from None
        except Exception as exc:
            log.warning("refund_provider_unavailable", error=type(exc).__name__)
            raise ProviderError("the provider is unavailable; retry with the same key") from exc
        if answer.status in REFUSED_BY_PROVIDER:
            await _settle_refund(container, refund_id, None, principal.audit_name)
            raise ValidationFailed(
                [FieldError("amount", "provider", f"the provider answered {answer.status!r}")]
            )
        if answer.status not in ACCEPTED_BY_PROVIDER:
            # Not (yet) accepted: the refund stays pending, reserved and unannounced; a retry
            # with the same key asks the provider again (ADR 0033).
            log.warning("refund_not_accepted_yet", status=answer.status[:40])
            raise ProviderError(
                "the provider has not accepted the refund yet; retry with the same key"
            )
        await _settle_refund(container, refund_id, answer.provider_reference, principal.audit_name)
    async with container.uow() as uow:
        stored = await uow.session.get(RefundRow, refund_id)
        assert stored is not None
        return _view(stored), created


async def _settle_refund(
    container: Container, refund_id: str, provider_reference: str | None, actor: str
) -> None:
    """Record the provider's answer: accepted (announce it) or refused (release the amount)."""
    now = container.clock.now()
    async with container.uow() as uow:
        session = uow.session
        refund = await session.get(RefundRow, refund_id)
        assert refund is not None
        payment = await _locked_payment(session, refund.payment_id)
        assert payment is not None
        await session.refresh(refund)
        if refund.state != RefundState.PENDING.value:
            return  # a concurrent retry recorded the answer already
        app = await find_application(session, payment.application_id)
        assert app is not None
        data = {
            "payment_id": payment.id,
            "refund_id": refund.id,
            "amount": format_minor(refund.amount_minor),
            "currency": payment.currency,
        }
        if provider_reference is None:
            refund.state = RefundState.FAILED.value
            payment.refunded_minor -= refund.amount_minor
            payment.updated_at = now
            await record_case_change(
                session,
                app,
                now,
                audit=AuditNote(actor, AuditAction.PAYMENT_REFUND_FAILED, payment.department, data),
            )
        else:
            refund.state, refund.provider_reference = RefundState.ACCEPTED.value, provider_reference
            accepted = await session.scalars(
                select(RefundRow.amount_minor).where(
                    RefundRow.payment_id == payment.id,
                    RefundRow.state == RefundState.ACCEPTED.value,
                )
            )
            full = sum(accepted) == payment.amount_minor
            text = f"{format_minor(refund.amount_minor)} {payment.currency} was refunded to you"
            await record(
                session,
                app,
                now,
                "payment.refunded",
                text,
                actor,
                {**data, "full": full},
                payment.department,
            )
        await uow.commit()


@dataclass(frozen=True)
class ReceiptLine:
    """One line of a receipt: the fee paid, or a refund (a negative amount)."""

    kind: str  # "fee" or "refund"
    on: datetime | None
    amount_minor: int


@dataclass(frozen=True)
class Receipt:
    """What a receipt shows: the fee paid for an application and its accepted refunds."""

    payment_id: str
    application_id: str
    reference: str
    department: str
    provider_reference: str
    currency: str
    lines: tuple[ReceiptLine, ...]

    @property
    def balance_minor(self) -> int:
        """What the payer has paid, net of refunds."""
        return sum(line.amount_minor for line in self.lines)


async def _receipt(session: AsyncSession, payment: PaymentRow) -> Receipt:
    app = await find_application(session, payment.application_id)
    assert app is not None
    refunds = list(
        await session.scalars(
            select(RefundRow)
            .where(
                RefundRow.payment_id == payment.id,
                RefundRow.state == RefundState.ACCEPTED.value,
            )
            .order_by(RefundRow.created_at, RefundRow.id)
        )
    )
    lines = (
        ReceiptLine("fee", payment.paid_at, payment.amount_minor),
        *(ReceiptLine("refund", r.created_at, -r.amount_minor) for r in refunds),
    )
    return Receipt(
        payment_id=payment.id,
        application_id=app.id,
        reference=app.reference,
        department=payment.department or "",
        provider_reference=payment.provider_reference or "",
        currency=payment.currency,
        lines=lines,
    )


async def receipt_of(container: Container, principal: Principal, payment_id: str) -> Receipt:
    """The receipt of a paid fee, for those who may read the payment (else 404)."""
    async with container.uow() as uow:
        payment = await uow.session.get(PaymentRow, payment_id)
        if payment is None or not may_read_payment(principal, payment.payer_id, payment.department):
            raise NotFound("no receipt for this payment")
        if payment.state != PaymentState.SUCCEEDED.value:
            raise NotFound("no receipt for this payment")
        return await _receipt(uow.session, payment)


async def application_receipt(
    container: Container, principal: Principal, application_id: str
) -> Receipt:
    """The payer's receipt for an application: its paid fee (404 while nothing is paid)."""
    async with container.uow() as uow:
        payment = await uow.session.scalar(
            select(PaymentRow)
            .where(
                PaymentRow.application_id == application_id,
                PaymentRow.payer_id == principal.subject,
                PaymentRow.state == PaymentState.SUCCEEDED.value,
            )
            .order_by(PaymentRow.paid_at.desc(), PaymentRow.id.desc())
            .limit(1)
        )
        if payment is None:
            raise NotFound("no paid fee for this application")
        return await _receipt(uow.session, payment)


async def receipt_html(container: Container, principal: Principal, payment_id: str) -> str:
    """A printable HTML receipt of a paid fee (and its accepted refunds)."""
    receipt = await receipt_of(container, principal, payment_id)
    esc = html.escape
    fee, refunds = receipt.lines[0], receipt.lines[1:]
    rows = "".join(
        f"<tr><td>Refund {esc(r.on.date().isoformat() if r.on else '')}</td>"
        f"<td>-{esc(format_minor(-r.amount_minor))} {esc(receipt.currency)}</td></tr>"
        for r in refunds
    )
    paid_on = fee.on.date().isoformat() if fee.on else ""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>Receipt {esc(receipt.payment_id)}</title></head><body><main>"
        f"<h1>Receipt</h1><p>Application {esc(receipt.reference)}</p>"
        f"<p>Receipt number {esc(receipt.payment_id)} · provider reference "
        f"{esc(receipt.provider_reference)}</p><table>"
        f"<tr><td>Licence fee, paid {esc(paid_on)}</td>"
        f"<td>{esc(format_minor(fee.amount_minor))} {esc(receipt.currency)}</td></tr>"
        f"{rows}</table></main></body></html>"
    )
