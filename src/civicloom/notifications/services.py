"""Notification use cases: plan the messages an event calls for, deliver one message.

Planning runs when the worker hands over an engine event: it renders each person's message in
their language and writes one delivery row per channel plus an outbox row that sends it, in
one transaction. Delivering is that outbox row's work: a failed channel is retried with
back-off by the outbox and never blocks the application.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.applications import (
    ApplicationRecord,
    find_application,
    refusal_in_words,
    review_is_open,
)
from civicloom.catalogue import Blueprint, get_blueprint_version
from civicloom.identity import field_departments
from civicloom.kernel import new_id
from civicloom.notifications.domain import (
    APPLICANT_EVENTS,
    DEFAULT_TEMPLATES,
    DELIVER_TOPIC,
    DIRECTOR_EVENTS,
    HANDLED_EVENTS,
    OFFICER_EVENTS,
    REVIEW_STAFF_EVENTS,
    STEP_EVENT,
    ChannelKind,
    DeliveryStatus,
    Outgoing,
    Recipient,
    RenderedMessage,
    UndeliverableMessage,
)
from civicloom.notifications.limits import ProviderLimiter
from civicloom.notifications.ports import Channel
from civicloom.notifications.recipients import officers_for, recipient_for
from civicloom.notifications.tables import DeliveryRow
from civicloom.notifications.templates import TemplateLibrary
from civicloom.observability import get_logger
from civicloom.outbox import MAX_ATTEMPTS as OUTBOX_MAX_ATTEMPTS
from civicloom.outbox import NOTIFICATIONS, CloudEvent, EventType, OutboxMessage, enqueue_event
from civicloom.rules import RULE_BOOK, RuleBook
from civicloom.runtime import Container

log = get_logger(__name__)
EVENT_SOURCE = "urn:civicloom:notifications"


async def add_delivery(
    session: AsyncSession,
    container: Container,
    source_key: str,
    recipient: Recipient,
    channel: ChannelKind,
    rendered: RenderedMessage,
    application_id: str | None = None,
    batch_id: str | None = None,
) -> DeliveryRow | None:
    """One delivery (and the outbox row that sends it), at most once per source and channel."""
    address = recipient.address(channel)
    if not address:
        return None
    exists = await session.scalar(
        select(DeliveryRow.id).where(
            DeliveryRow.source_key == source_key,
            DeliveryRow.recipient_id == recipient.subject,
            DeliveryRow.channel == channel.value,
        )
    )
    if exists is not None:
        return None
    now = container.clock.now()
    portal = channel is ChannelKind.PORTAL
    row = DeliveryRow(
        id=new_id(),
        source_key=source_key,
        batch_id=batch_id,
        application_id=application_id,
        recipient_id=recipient.subject,
        channel=channel.value,
        address=address,
        template=rendered.template,
        template_version=rendered.version,
        locale=rendered.locale,
        subject=rendered.subject,
        body_text=rendered.text,
        body_html=rendered.html,
        status=(DeliveryStatus.DELIVERED if portal else DeliveryStatus.QUEUED).value,
        attempts=0,
        created_at=now,
        sent_at=now if portal else None,
    )
    session.add(row)
    if not portal:
        await enqueue_event(
            session,
            CloudEvent(
                type=DELIVER_TOPIC,
                source=EVENT_SOURCE,
                subject=row.id,
                time=now,
                data={"delivery_id": row.id, "channel": channel.value},
            ),
            key=f"deliver:{row.id}",
        )
    return row


def in_words(
    context: dict[str, Any],
    blueprint: Blueprint | None,
    data: dict[str, Any],
    locale: str,
    rules: RuleBook | None = None,
) -> dict[str, Any]:
    """The context in the reader's language: the step by its title, not its id, the due
    instant as a date, the service by its title, the engine's refusal and the fee's band in
    the reader's words (people read words, not ids or codes)."""
    words = dict(context)
    if blueprint is not None:
        if data.get("service_title"):
            words["service_title"] = blueprint.title.get(locale)
        if isinstance(data.get("reason"), str):
            titles = [s.title for s in blueprint.steps if s.title]
            words["reason"] = refusal_in_words(titles, data["reason"], locale)
        band = context.get("fee_explanation")
        if band and rules is not None and blueprint.fees is not None:
            words["fee_explanation"] = rules.say(blueprint.fees.model, band, locale)
    step_id = str(data.get("step") or "")
    if step_id:
        step = next((s for s in blueprint.steps if s.id == step_id), None) if blueprint else None
        title = step.title.get(locale) if step is not None and step.title else None
        words["step"] = title or step_id.replace("_", " ").capitalize()
    due = data.get("due_at")
    if isinstance(due, str) and len(due) >= 10:
        words["due_at"] = due[:10]
    if blueprint is not None:
        words["service"] = blueprint.title.get(locale)
    return words


def template_context(
    container: Container, app: ApplicationRecord, data: dict[str, Any], legal_days: Any
) -> dict[str, Any]:
    """What templates may use: the application, its decisions and the event's data."""
    base = container.settings.effective_public_url.rstrip("/")
    fee = app.decisions.get("fees") or {}
    return {
        **data,
        "reference": app.reference,
        "data": dict(app.data),
        "status_url": f"{base}/applications/{app.id}",
        "payment_url": f"{base}/applications/{app.id}/pay",
        "receipt_url": f"{base}/applications/{app.id}/receipt",
        # staff messages about one task link the task page (its department's staff only)
        "task_url": f"{base}/backoffice/tasks/{data['task_id']}" if data.get("task_id") else "",
        # staff messages about a review of a refusal link the review page (ADR 0059)
        "review_url": (
            f"{base}/backoffice/reviews/{data['review_id']}" if data.get("review_id") else ""
        ),
        "business": str(app.data.get("business_name") or ""),
        "fee": fee,
        "fee_explanation": fee.get("band", ""),
        "deadline": app.deadline_at.date().isoformat() if app.deadline_at else "",
        "legal_deadline_working_days": legal_days or "",
    }


def staff_context(
    context: dict[str, Any], blueprint: Blueprint | None, department: str
) -> dict[str, Any]:
    """What a message to a department's staff may say: no answer of the form, and the business
    name only where the form lets that department read it (``x-owner``/``x-visible-to``): a
    tax officer asked to review a tax refusal is not told a name the Tax Authority may not see
    (attack review, ADR 0059)."""
    spec = dict(blueprint.form.json_schema.get("properties", {})) if blueprint else {}
    owner = blueprint.owner if blueprint else ""
    may_see_name = department in field_departments(spec.get("business_name", {}), owner)
    return {**context, "data": {}, "business": context["business"] if may_see_name else ""}


def _event_type(event: dict[str, Any]) -> EventType | None:
    try:
        kind = EventType(str(event.get("type", "")))
    except ValueError:
        return None
    return kind if kind in HANDLED_EVENTS and kind is not DELIVER_TOPIC else None


async def plan_notifications(
    container: Container, library: TemplateLibrary, event: dict[str, Any]
) -> int:
    """Deliveries for one engine event (none if it calls for no notification).

    Applicant events use the template the blueprint declares for them (or the default one);
    a ``notify`` step's event names its template itself; officer events go to the
    department's officers with the role the event calls for.
    """
    kind = _event_type(event)
    if kind is None:
        return 0
    data = dict(event.get("data") or {})
    blueprints = container.settings.blueprints_dir
    planned = 0
    async with container.uow() as uow:
        session = uow.session
        app = await find_application(session, str(data.get("application_id", "")))
        if app is None:
            return 0
        published = await get_blueprint_version(session, app.blueprint_version_id)
        blueprint = published.blueprint if published else None
        allowed = {c.value for c in ChannelKind}
        template: str | None
        if kind in APPLICANT_EVENTS:
            name = APPLICANT_EVENTS[kind]
            spec = blueprint.notification_for(name) if blueprint else None
            template = spec.template if spec else DEFAULT_TEMPLATES.get(name)
            if spec is not None:
                allowed = {*spec.channels, ChannelKind.SMS.value}
            recipients = [await recipient_for(session, blueprints, app.applicant_id, app.data)]
        elif kind in DIRECTOR_EVENTS:
            # the directors' own contact details: never the applicant's contact_email
            template = DIRECTOR_EVENTS[kind]
            recipients = [
                await recipient_for(session, blueprints, str(director))
                for director in data.get("directors") or ()
            ]
        elif kind is STEP_EVENT:
            template = str(data.get("template") or "") or None
            recipients = [await recipient_for(session, blueprints, app.applicant_id, app.data)]
        elif kind in REVIEW_STAFF_EVENTS:
            # the staff who may decide the review; never the officer who refused (ADR 0059)
            template = REVIEW_STAFF_EVENTS[kind]
            if not await review_is_open(session, str(data.get("review_id") or "")):
                return 0  # decided meanwhile: nobody is asked to act on it any more
            today = container.clock.now().date()
            roles = frozenset(str(r) for r in data.get("roles") or ())
            staff = await officers_for(session, today, data.get("department"), roles)
            recipients = [r for r in staff if r.subject != data.get("refused_by")]
            if not recipients:  # e.g. the refusing officer is the department's only decider
                log.warning(
                    "review_nobody_to_tell",
                    review_id=data.get("review_id"),
                    department=data.get("department"),
                    about=kind.value,
                )
        else:
            template, roles = OFFICER_EVENTS[kind]
            today = container.clock.now().date()
            recipients = await officers_for(session, today, data.get("department"), roles)
        if not template or not library.exists(template):
            if kind is STEP_EVENT:
                log.warning("notify_template_missing", template=template, step=data.get("step"))
            return 0
        legal_days = blueprint.legal_deadline_working_days if blueprint else None
        context = template_context(container, app, data, legal_days)
        if kind in REVIEW_STAFF_EVENTS or kind in OFFICER_EVENTS:
            context = staff_context(context, blueprint, str(data.get("department") or ""))
        for person in recipients:
            rendered = library.render(
                template,
                person.locale,
                in_words(context, blueprint, data, person.locale, container.find(RULE_BOOK)),
            )
            for channel in person.channels:
                if channel.value not in allowed:
                    continue
                about = None if kind in DIRECTOR_EVENTS else app.id  # not theirs to open
                row = await add_delivery(
                    session, container, str(event.get("id")), person, channel, rendered, about
                )
                planned += row is not None
        await uow.commit()
    return planned


async def deliver(
    container: Container,
    channels: Mapping[str, Channel],
    limiter: ProviderLimiter,
    delivery_id: str,
    *,
    last_attempt: bool = False,
) -> float | None:
    """Send one delivery. Returns seconds to wait when the provider's rate limit is reached;
    raises when the channel fails (the outbox retries with back-off). A message no retry can
    send, or a failure on the outbox's last attempt, leaves the delivery ``failed``."""
    async with container.uow() as uow:
        row = await uow.session.get(DeliveryRow, delivery_id)
        if row is None or row.status in (DeliveryStatus.SENT, DeliveryStatus.DELIVERED):
            return None
        outgoing = Outgoing(
            row.id, row.address, row.subject, row.body_text, row.body_html, row.locale
        )
        channel = channels[row.channel]
    wait = await limiter.take(channel.provider)
    if wait:
        return wait
    try:
        provider_id = await channel.send(outgoing)
    except UndeliverableMessage as exc:
        async with container.uow() as uow:
            failed = await uow.session.get(DeliveryRow, delivery_id)
            assert failed is not None
            failed.status = DeliveryStatus.FAILED.value
            failed.attempts += 1
            failed.last_error = f"{type(exc).__name__}: {str(exc)[:200]}"
            await uow.commit()
        log.warning("notification_undeliverable", delivery_id=delivery_id)
        return None
    except Exception as exc:
        async with container.uow() as uow:
            failed = await uow.session.get(DeliveryRow, delivery_id)
            assert failed is not None
            failed.status = (
                DeliveryStatus.FAILED if last_attempt else DeliveryStatus.RETRYING
            ).value
            failed.attempts += 1
            failed.last_error = f"{type(exc).__name__}: {str(exc)[:200]}"
            await uow.commit()
        log.warning("notification_failed", delivery_id=delivery_id, error=type(exc).__name__)
        raise
    async with container.uow() as uow:
        sent = await uow.session.get(DeliveryRow, delivery_id)
        assert sent is not None
        sent.status, sent.attempts = DeliveryStatus.SENT.value, sent.attempts + 1
        sent.sent_at, sent.provider_message_id = container.clock.now(), provider_id
        sent.last_error = None
        await uow.commit()
    log.info("notification_sent", delivery_id=delivery_id, channel=outgoing_channel(row))
    return None


def outgoing_channel(row: DeliveryRow) -> str:
    """The channel of a delivery (for logs: never the address or the text)."""
    return row.channel


class NotificationDispatcher:
    """The worker's subscriber: plans deliveries for engine events and sends deliveries."""

    name = NOTIFICATIONS
    handles = HANDLED_EVENTS

    def __init__(
        self,
        container: Container,
        library: TemplateLibrary,
        channels: Mapping[str, Channel],
        limiter: ProviderLimiter,
    ) -> None:
        self.container, self.library = container, library
        self.channels, self.limiter = channels, limiter

    async def __call__(self, message: OutboxMessage) -> float | None:
        """Handle one dispatched outbox message; a float asks to try again that much later."""
        if message.topic == DELIVER_TOPIC:
            delivery_id = str(message.payload.get("data", {}).get("delivery_id", ""))
            return await deliver(
                self.container,
                self.channels,
                self.limiter,
                delivery_id,
                last_attempt=message.attempts >= OUTBOX_MAX_ATTEMPTS,
            )
        await plan_notifications(self.container, self.library, message.payload)
        return None
