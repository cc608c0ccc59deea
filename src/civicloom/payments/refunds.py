"""Refunds (full or partial, never more than paid, never twice) and receipts."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from civicloom.applications import find_application
from civicloom.kernel import FieldError, NotFound, Principal, ValidationFailed, new_id
from civicloom.observability import get_logger
from civicloom.payments.domain import PaymentState, format_minor, to_minor
from civicloom.payments.ports import PaymentProvider
from civicloom.payments.services import ProviderError, record
from civicloom.payments.tables import PaymentRow, RefundRow
from civicloom.runtime import Container

log = get_logger(__name__)


@dataclass(frozen=True)
class RefundView:
    """A refund as the API shows it."""

    id: str
    payment_id: str
    amount: str
    reason: str
    provider_reference: str | None
    created_at: datetime


def _view(row: RefundRow) -> RefundView:
    return RefundView(
        row.id,
        row.payment_id,
        format_minor(row.amount_minor),
        row.reason,
        row.provider_reference,
        row.created_at,
    )


async def refund_payment(
    container: Container,
    provider: PaymentProvider,
    principal: Principal,
    payment_id: str,
    idempotency_key: str,
    amount: object,
    reason: str,
) -> tuple[RefundView, bool]:
    """Refund part or all of a paid fee. The amount is reserved in the same transaction that
    checks it, so two refunds can never together exceed what was paid."""
    now = container.clock.now()
    amount_minor = to_minor(amount, "amount")
    created = False
    async with container.uow() as uow:
        session = uow.session
        query = select(PaymentRow).where(PaymentRow.id == payment_id)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        payment = await session.scalar(query)
        if payment is None:
            raise NotFound("no such payment")
        refund = await session.scalar(
            select(RefundRow).where(RefundRow.idempotency_key == f"{payment_id}:{idempotency_key}")
        )
        if refund is not None and refund.amount_minor != amount_minor:
            raise ValidationFailed(
                [FieldError("Idempotency-Key", "reused", "this key was used with another amount")]
            )
        if refund is None:
            if payment.state != PaymentState.SUCCEEDED.value:
                raise ValidationFailed(
                    [FieldError("payment", "paid", "only a paid payment can be refunded")]
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
            payment.refunded_minor += amount_minor
            payment.updated_at = now
            refund = RefundRow(
                id=new_id(),
                payment_id=payment.id,
                idempotency_key=f"{payment_id}:{idempotency_key}",
                amount_minor=amount_minor,
                reason=reason,
                requested_by=principal.audit_name,
                created_at=now,
            )
            session.add(refund)
            app = await find_application(session, payment.application_id)
            assert app is not None
            full = payment.refunded_minor == payment.amount_minor
            text = f"{format_minor(amount_minor)} {payment.currency} was refunded to you"
            await record(
                session,
                app,
                now,
                "payment.refunded",
                text,
                principal.audit_name,
                {
                    "payment_id": payment.id,
                    "refund_id": refund.id,
                    "amount": format_minor(amount_minor),
                    "currency": payment.currency,
                    "full": full,
                },
            )
            await uow.commit()
            created = True
        refund_id, provider_ref = refund.id, payment.provider_reference
        done = refund.provider_reference is not None
    if not done and provider_ref is not None:
        try:
            answer = await provider.refund(refund_id, provider_ref, amount_minor)
        except ValidationFailed:
            raise
        except Exception as exc:
            log.warning("refund_provider_unavailable", error=type(exc).__name__)
            raise ProviderError("the provider is unavailable; retry with the same key") from exc
        async with container.uow() as uow:
            stored = await uow.session.get(RefundRow, refund_id)
            assert stored is not None
            stored.provider_reference = answer.provider_reference
            await uow.commit()
    async with container.uow() as uow:
        stored = await uow.session.get(RefundRow, refund_id)
        assert stored is not None
        return _view(stored), created


async def receipt_html(container: Container, principal: Principal, payment_id: str) -> str:
    """A printable HTML receipt of a paid fee (and any refunds)."""
    async with container.uow() as uow:
        payment = await uow.session.get(PaymentRow, payment_id)
        if payment is None or payment.state != PaymentState.SUCCEEDED.value:
            raise NotFound("no receipt for this payment")
        if payment.payer_id != principal.subject and not (
            {"officer", "supervisor", "operator", "auditor"} & set(principal.roles)
        ):
            raise NotFound("no receipt for this payment")
        app = await find_application(uow.session, payment.application_id)
        assert app is not None
        refunds = list(
            await uow.session.scalars(select(RefundRow).where(RefundRow.payment_id == payment.id))
        )
    esc = html.escape
    rows = "".join(
        f"<tr><td>Refund {esc(r.created_at.date().isoformat())}</td>"
        f"<td>-{esc(format_minor(r.amount_minor))} {esc(payment.currency)}</td></tr>"
        for r in refunds
    )
    paid_on = payment.paid_at.date().isoformat() if payment.paid_at else ""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>Receipt {esc(payment.id)}</title></head><body><main>"
        f"<h1>Receipt</h1><p>Application {esc(app.reference)}</p>"
        f"<p>Receipt number {esc(payment.id)} · provider reference "
        f"{esc(payment.provider_reference or '')}</p><table>"
        f"<tr><td>Licence fee, paid {esc(paid_on)}</td>"
        f"<td>{esc(format_minor(payment.amount_minor))} {esc(payment.currency)}</td></tr>"
        f"{rows}</table></main></body></html>"
    )
