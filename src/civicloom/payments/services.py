"""Payment use cases: intents, provider webhooks, refunds, receipts.

Each opens a unit of work, changes state, writes its audit entry, timeline entry and outbox
event, and commits once. Provider calls happen outside transactions, keyed so a retry never
charges or refunds twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.applications import (
    ApplicationState,
    AuditNote,
    CaseIdentity,
    EventNote,
    TaskView,
    TimelineNote,
    complete_external_step,
    find_application,
    find_waiting_task,
    record_case_change,
)
from civicloom.audit import AuditAction
from civicloom.departments import ExternalCompletion
from civicloom.kernel import (
    Conflict,
    DomainError,
    FieldError,
    NotFound,
    Principal,
    ValidationFailed,
    canonical_json,
    new_id,
    sha256_hex,
)
from civicloom.observability import get_logger
from civicloom.outbox import EventType
from civicloom.payments.access import may_read_payment
from civicloom.payments.domain import PaymentState, WebhookEvent, format_minor, to_minor
from civicloom.payments.ports import PaymentProvider
from civicloom.payments.tables import PaymentRow, PaymentWebhookRow
from civicloom.rules import list_decisions
from civicloom.runtime import Container

log = get_logger(__name__)
EVENT_SOURCE = "urn:civicloom:payments"
ACTOR = "system:payments"


class ProviderError(DomainError):
    """The payment provider could not be reached; nothing was charged, try again."""

    slug = "provider-unavailable"
    title = "The payment provider is unavailable"
    status = 503


class WebhookUnauthenticated(DomainError):
    """A provider webhook whose signature could not be verified."""

    slug = "unauthenticated"
    title = "Webhook signature not valid"
    status = 401


@dataclass(frozen=True)
class PaymentView:
    """A payment as the API shows it."""

    id: str
    application_id: str
    state: str
    amount: str
    currency: str
    refunded: str
    provider: str
    provider_reference: str | None
    next_url: str | None
    fee_evaluation_id: str | None
    created_at: datetime
    paid_at: datetime | None


def view_of(row: PaymentRow) -> PaymentView:
    """The API view of a payment row."""
    return PaymentView(
        id=row.id,
        application_id=row.application_id,
        state=row.state,
        amount=format_minor(row.amount_minor),
        currency=row.currency,
        refunded=format_minor(row.refunded_minor),
        provider=row.provider,
        provider_reference=row.provider_reference,
        next_url=row.next_url if row.state == PaymentState.PENDING.value else None,
        fee_evaluation_id=row.fee_evaluation_id,
        created_at=row.created_at,
        paid_at=row.paid_at,
    )


_RECORDED: dict[str, tuple[AuditAction, EventType]] = {
    "payment.received": (AuditAction.PAYMENT_RECEIVED, EventType.PAYMENT_RECEIVED),
    "payment.declined": (AuditAction.PAYMENT_DECLINED, EventType.PAYMENT_DECLINED),
    "payment.abandoned": (AuditAction.PAYMENT_ABANDONED, EventType.PAYMENT_ABANDONED),
    "payment.refunded": (AuditAction.PAYMENT_REFUNDED, EventType.PAYMENT_REFUNDED),
}


async def record(
    session: AsyncSession,
    app: CaseIdentity,
    now: datetime,
    event: str,
    message: str,
    actor: str,
    data: dict[str, Any],
    department: str | None = None,
) -> None:
    """Timeline entry, audit entry and outbox event of one payment change, in one go.

    ``event`` is the timeline event (``payment.received`` …); the audit action and the event
    type of the same name are recorded with it.
    """
    action, event_type = _RECORDED[event]
    await record_case_change(
        session,
        app,
        now,
        timeline=TimelineNote(event, message, step_id="payment", department=department),
        audit=AuditNote(actor, action, department, data),
        event=EventNote(
            event_type,
            data,
            key=f"{event}:{data.get('payment_id')}:{data.get('refund_id', '')}",
            source=EVENT_SOURCE,
        ),
    )


async def _due_payment_task(session: AsyncSession, application_id: str) -> TaskView:
    task = await find_waiting_task(session, application_id, "payment")
    if task is None:
        raise Conflict("no payment is due on this application")
    return task


async def supersede_open(
    session: AsyncSession, app: CaseIdentity, payment_key: str, now: datetime, actor: str
) -> list[str]:
    """Supersede the fee's open (pending) intent, if any: it can no longer pay the fee."""
    query = select(PaymentRow).where(
        PaymentRow.payment_key == payment_key, PaymentRow.state == PaymentState.PENDING.value
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    superseded = []
    for old in await session.scalars(query):
        old.state, old.updated_at = PaymentState.SUPERSEDED.value, now
        superseded.append(old.id)
        await record_case_change(
            session,
            app,
            now,
            audit=AuditNote(
                actor,
                AuditAction.PAYMENT_INTENT_SUPERSEDED,
                old.department,
                {"payment_id": old.id, "provider_reference": old.provider_reference or ""},
            ),
        )
    await session.flush()  # before the new intent is inserted (one pending per fee)
    return superseded


def return_address(public_url: str, return_url: str) -> str:
    """Where the provider sends the payer back: always this platform (no open redirect).

    A path (``/applications/…``) is resolved against the platform's public address, which the
    provider (another host) needs; an absolute address must already be on the platform's own
    origin. Anything else is refused, naming ``return_url``, before anything is written.
    """
    base = urlsplit(public_url)
    if "\\" not in return_url:  # browsers read a backslash as a slash: never trusted
        if return_url.startswith("/") and not return_url.startswith("//"):
            return f"{base.scheme}://{base.netloc}{return_url}"
        given = urlsplit(return_url)
        if (given.scheme, given.netloc) == (base.scheme, base.netloc):
            return return_url
    raise ValidationFailed(
        [
            FieldError(
                "return_url",
                "return-url-origin",
                "The payer can only come back to a page of this service",
            )
        ]
    )


async def create_payment(
    container: Container,
    provider: PaymentProvider,
    principal: Principal,
    application_id: str,
    idempotency_key: str,
    return_url: str,
) -> tuple[PaymentView, bool]:
    """Start paying an application's fee: an intent at the provider, keyed by Idempotency-Key.

    A retry with the same key and body returns the same payment; another body is refused.
    A new key is a new attempt: it supersedes the fee's open intent, which can then no longer
    pay the fee (one open intent per fee, ADR 0033).
    """
    now = container.clock.now()
    request_hash = sha256_hex(canonical_json({"return_url": return_url}))
    return_url = return_address(container.settings.effective_public_url, return_url)
    created = False
    async with container.uow() as uow:
        session = uow.session
        app = await find_application(session, application_id)
        if app is None or app.applicant_id != principal.subject:
            raise NotFound("no such application for this caller")
        row = await session.scalar(
            select(PaymentRow).where(
                PaymentRow.payer_id == principal.subject,
                PaymentRow.idempotency_key == idempotency_key,
            )
        )
        if row is not None and row.request_hash != request_hash:
            raise ValidationFailed(
                [FieldError("Idempotency-Key", "reused", "this key was used with another body")]
            )
        if row is None:
            task = await _due_payment_task(session, application_id)
            superseded = await supersede_open(
                session, app, task.idempotency_key, now, principal.audit_name
            )
            paid = await session.scalar(
                select(PaymentRow.id).where(
                    PaymentRow.payment_key == task.idempotency_key,
                    PaymentRow.state == PaymentState.SUCCEEDED.value,
                )
            )
            if paid is not None:
                raise Conflict("this fee has already been paid")
            inputs = task.input or {}
            fees = [d for d in await list_decisions(session, app.id) if d.purpose == "fees"]
            row = PaymentRow(
                id=new_id(),
                application_id=app.id,
                payment_key=task.idempotency_key,
                department=task.department,
                payer_id=principal.subject,
                idempotency_key=idempotency_key,
                request_hash=request_hash,
                provider=provider.name,
                amount_minor=to_minor(inputs.get("amount"), "amount"),
                currency=str(inputs.get("currency") or "EUR").upper(),
                refunded_minor=0,
                state=PaymentState.PENDING.value,
                fee_evaluation_id=fees[-1].id if fees else None,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            try:
                await session.flush()
            except IntegrityError:  # another attempt for this fee (or this key) came first
                raise Conflict("another payment of this fee was started; try again") from None
            await record_case_change(
                session,
                app,
                now,
                audit=AuditNote(
                    principal.audit_name,
                    AuditAction.PAYMENT_INTENT_CREATED,
                    task.department,
                    {
                        "payment_id": row.id,
                        "amount_minor": row.amount_minor,
                        "supersedes": superseded,
                    },
                ),
            )
            try:
                await uow.commit()
            except IntegrityError:  # another attempt for this fee committed first
                raise Conflict("another payment of this fee was started; try again") from None
            created = True
        payment_id, reference = row.id, app.reference
        amount_minor, currency, has_ref = row.amount_minor, row.currency, row.provider_reference
        still_open = row.state == PaymentState.PENDING.value
    if has_ref is None and still_open:
        # The provider is keyed by our payment id: a retry after a lost answer is no new charge.
        webhook_url = (
            f"{container.settings.effective_public_url}/api/v1/payments/webhooks/{provider.name}"
        )
        try:
            intent = await provider.create_intent(
                payment_id, amount_minor, currency, f"Fee for {reference}", return_url, webhook_url
            )
        except ValidationFailed:
            raise
        except Exception as exc:
            log.warning("payment_provider_unavailable", error=type(exc).__name__)
            raise ProviderError("the payment provider is unavailable; try again") from exc
        async with container.uow() as uow:
            stored = await uow.session.get(PaymentRow, payment_id)
            assert stored is not None
            stored.provider_reference, stored.next_url = intent.provider_reference, intent.next_url
            stored.updated_at = container.clock.now()
            await uow.commit()
    return await get_payment(container, principal, payment_id), created


async def start_or_resume_payment(
    container: Container,
    provider: PaymentProvider,
    principal: Principal,
    application_id: str,
    return_url: str,
) -> tuple[PaymentView, bool]:
    """The portal's "Pay" and "Try again": the payer's open intent for the fee if there is one
    (a second click is the same payment), else a new attempt (after a decline, a cancel or an
    intent superseded elsewhere), which supersedes whatever is still open."""
    async with container.uow() as uow:
        app = await find_application(uow.session, application_id)
        if app is None or app.applicant_id != principal.subject:
            raise NotFound("no such application for this caller")
        task = await _due_payment_task(uow.session, application_id)
        attempts = list(
            await uow.session.scalars(
                select(PaymentRow)
                .where(
                    PaymentRow.payment_key == task.idempotency_key,
                    PaymentRow.payer_id == principal.subject,
                )
                .order_by(PaymentRow.created_at, PaymentRow.id)
            )
        )
    open_one = next((a for a in attempts if a.state == PaymentState.PENDING.value), None)
    if open_one is not None and open_one.request_hash == sha256_hex(
        canonical_json({"return_url": return_url})
    ):
        key = open_one.idempotency_key
    else:
        key = f"portal-payment:{application_id}:{len(attempts) + 1}"
    return await create_payment(container, provider, principal, application_id, key, return_url)


async def latest_payment(
    container: Container, principal: Principal, application_id: str
) -> PaymentView | None:
    """The payer's most recent payment attempt of an application (None: none yet)."""
    async with container.uow() as uow:
        row = await uow.session.scalar(
            select(PaymentRow)
            .where(
                PaymentRow.application_id == application_id,
                PaymentRow.payer_id == principal.subject,
            )
            .order_by(PaymentRow.created_at.desc(), PaymentRow.id.desc())
            .limit(1)
        )
        return view_of(row) if row is not None else None


async def get_payment(container: Container, principal: Principal, payment_id: str) -> PaymentView:
    """One payment, for its payer, its fee department's staff and auditors (else 404)."""
    async with container.uow() as uow:
        row = await uow.session.get(PaymentRow, payment_id)
        if row is None or not may_read_payment(principal, row.payer_id, row.department):
            raise NotFound("no such payment for this caller")
        return view_of(row)


async def list_payments(
    container: Container, principal: Principal, application_id: str
) -> list[PaymentView]:
    """The payments of one of the caller's applications (404 for anyone else's)."""
    async with container.uow() as uow:
        app = await find_application(uow.session, application_id)
        if app is None or app.applicant_id != principal.subject:
            raise NotFound("no such application for this caller")
        rows = await uow.session.scalars(
            select(PaymentRow)
            .where(PaymentRow.application_id == application_id)
            .order_by(PaymentRow.created_at)
        )
        return [view_of(r) for r in rows]


async def handle_webhook(
    container: Container, provider: PaymentProvider, headers: dict[str, str], body: bytes
) -> bool:
    """A signed provider webhook: settle the payment once, then finish the payment step.

    Returns False for a webhook already handled (a duplicate changes nothing).
    """
    try:
        event = provider.verify_webhook(headers, body)
    except Exception as exc:
        raise WebhookUnauthenticated(f"webhook refused: {exc}") from exc
    now = container.clock.now()
    fresh = True
    async with container.uow() as uow:
        session = uow.session
        seen = await session.scalar(
            select(PaymentWebhookRow.id).where(
                PaymentWebhookRow.provider == provider.name,
                PaymentWebhookRow.event_id == event.event_id,
            )
        )
        query = select(PaymentRow).where(
            PaymentRow.provider == provider.name,
            PaymentRow.provider_reference == event.provider_reference,
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()  # against a new attempt superseding it meanwhile
        row = await session.scalar(query)
        if row is None:
            raise NotFound("no payment with this provider reference")
        if seen is not None:
            fresh = False
        else:
            session.add(
                PaymentWebhookRow(
                    provider=provider.name,
                    event_id=event.event_id,
                    type=event.type,
                    provider_reference=event.provider_reference,
                    received_at=now,
                )
            )
            await _settle(session, row, event, now)
            try:
                await uow.commit()
            except IntegrityError:  # the same event, handled concurrently by another request
                fresh = False
        state, payment_key = row.state, row.payment_key
        output = {
            "payment_id": row.id,
            "amount": format_minor(row.amount_minor),
            "currency": row.currency,
        }
    if state == PaymentState.SUCCEEDED.value:
        # Idempotent: a crash before this line is repaired by the provider's next delivery.
        await complete_external_step(
            container,
            ExternalCompletion(
                idempotency_key=payment_key, output=output, received_from="payments"
            ),
        )
    return fresh


async def _settle(
    session: AsyncSession, row: PaymentRow, event: WebhookEvent, now: datetime
) -> None:
    target = event.state
    if target is None:
        return
    why = "a newer attempt replaced it"
    app = await find_application(session, row.application_id)
    assert app is not None
    if target is PaymentState.SUCCEEDED and (
        event.amount_minor != row.amount_minor or event.currency != row.currency
    ):
        log.warning("payment_amount_mismatch", payment_id=row.id)
        return  # never accept a different amount as payment of the fee; reconciliation shows it
    if (
        row.state == PaymentState.PENDING.value
        and target is PaymentState.SUCCEEDED
        and ApplicationState(app.state).is_final
    ):
        # The case closed (withdrawn, refused, failed) while the hosted page was still open:
        # the intent could no longer pay the fee. Handled as a late success of a replaced one.
        row.state, row.updated_at = PaymentState.SUPERSEDED.value, now
        why = f"the application was {app.state} before it was paid"
    if row.state == PaymentState.SUPERSEDED.value and target is PaymentState.SUCCEEDED:
        # A late success of a replaced attempt: the money was taken, but it never pays the fee
        # (no completion, no "received" message). Finance refunds it; reconciliation counts it.
        if row.paid_at is None:
            row.paid_at, row.updated_at = now, now
            log.warning("payment_superseded_paid", payment_id=row.id)
            await record_case_change(
                session,
                app,
                now,
                audit=AuditNote(
                    ACTOR,
                    AuditAction.PAYMENT_SUPERSEDED_PAID,
                    row.department,
                    {
                        "payment_id": row.id,
                        "amount": format_minor(row.amount_minor),
                        "currency": row.currency,
                        "action": f"refund this payment: {why}",
                    },
                ),
            )
        return
    if row.state != PaymentState.PENDING.value:
        return
    row.state, row.updated_at = target.value, now
    amount = f"{format_minor(row.amount_minor)} {row.currency}"
    data = {
        "payment_id": row.id,
        "amount": format_minor(row.amount_minor),
        "currency": row.currency,
    }
    if target is PaymentState.SUCCEEDED:
        row.paid_at = now
        await record(
            session,
            app,
            now,
            "payment.received",
            f"We received your payment of {amount}",
            ACTOR,
            data,
            row.department,
        )
    elif target is PaymentState.DECLINED:
        await record(
            session,
            app,
            now,
            "payment.declined",
            f"Your payment of {amount} was declined; you can try again",
            ACTOR,
            data,
            row.department,
        )
    else:
        await record(
            session,
            app,
            now,
            "payment.abandoned",
            "The payment was cancelled; you can try again",
            ACTOR,
            data,
            row.department,
        )
