"""Notifications domain: which event sends what to whom, over which channel. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from civicloom.outbox import EventType


class ChannelKind(StrEnum):
    """How a message reaches a person."""

    EMAIL = "email"
    SMS = "sms"
    PORTAL = "portal"  # the citizen's inbox in the portal


class DeliveryStatus(StrEnum):
    """Where one delivery stands."""

    QUEUED = "queued"  # an outbox row will send it
    RETRYING = "retrying"  # the last attempt failed; the outbox retries with back-off
    SENT = "sent"  # the provider accepted it
    DELIVERED = "delivered"  # in the portal inbox (no provider involved)
    FAILED = "failed"  # given up (dead-lettered outbox row)


# CloudEvent types from the engine and payments → the blueprint's notification event names.
APPLICANT_EVENTS: dict[EventType, str] = {
    EventType.APPLICATION_SUBMITTED: "submitted",
    EventType.INFORMATION_REQUESTED: "information_requested",
    EventType.PAYMENT_REQUESTED: "payment_requested",
    EventType.PAYMENT_RECEIVED: "payment_received",
    EventType.APPLICATION_APPROVED: "approved",
    EventType.APPLICATION_REJECTED: "refused",
    EventType.LICENCE_ISSUED: "issued",
    EventType.REVIEW_REQUESTED: "review_requested",
    EventType.REVIEW_UPHELD: "review_upheld",
    EventType.REVIEW_OVERTURNED: "review_overturned",
}
# Sent when the blueprint declares nothing for the event.
DEFAULT_TEMPLATES: dict[str, str] = {
    "information_requested": "common/information-requested",
    "payment_received": "common/payment-received",
    "approved": "common/approved",
    "refused": "common/refused",
    "review_requested": "common/review-requested",
    "review_upheld": "common/review-upheld",
    "review_overturned": "common/review-overturned",
}
# Officer-facing events: template, and the roles of the department that receive it.
OFFICER_EVENTS: dict[EventType, tuple[str, frozenset[str]]] = {
    EventType.TASK_SLA_REMINDER: ("common/sla-reminder", frozenset({"officer"})),
    EventType.TASK_ESCALATED: ("common/escalated", frozenset({"supervisor"})),
}
# Reviews of refusals, for the staff who may decide them (ADR 0059): the event names the roles
# and the officer who refused, who is never among the recipients.
REVIEW_STAFF_EVENTS: dict[EventType, str] = {
    EventType.REVIEW_ARRIVED: "common/review-arrived",
    EventType.REVIEW_SLA_REMINDER: "common/review-reminder",
    EventType.REVIEW_ESCALATED: "common/review-escalated",
}
# Someone else applied for a business: its directors get this template (ADR 0041).
DIRECTOR_EVENTS: dict[EventType, str] = {EventType.BUSINESS_ACTED_FOR: "common/acted-for"}
# A blueprint's ``notify`` step: the applicant gets the template the step names.
STEP_EVENT = EventType.NOTIFICATION_REQUESTED
DELIVER_TOPIC = EventType.NOTIFICATION_DELIVER
# Every event type the notifications subscriber handles.
HANDLED_EVENTS: frozenset[EventType] = frozenset(
    {
        *APPLICANT_EVENTS,
        *OFFICER_EVENTS,
        *REVIEW_STAFF_EVENTS,
        *DIRECTOR_EVENTS,
        STEP_EVENT,
        DELIVER_TOPIC,
    }
)
DEFAULT_CHANNELS = (ChannelKind.EMAIL, ChannelKind.PORTAL)


@dataclass(frozen=True)
class Recipient:
    """A person to notify, with their addresses, language and preferred channels."""

    subject: str
    email: str | None = None
    phone: str | None = None
    locale: str = "en"
    channels: tuple[ChannelKind, ...] = DEFAULT_CHANNELS

    def address(self, channel: ChannelKind) -> str | None:
        """Where this channel reaches the person (None: it cannot)."""
        if channel is ChannelKind.EMAIL:
            return self.email
        if channel is ChannelKind.SMS:
            return self.phone
        return self.subject


class UndeliverableMessage(ValueError):
    """A message no retry can send (e.g. a subject or address no mail header can carry): the
    delivery is reported ``failed`` at once instead of being retried and reported deferred."""


@dataclass(frozen=True)
class Outgoing:
    """A snapshot of one delivery, handed to a channel."""

    id: str
    address: str
    subject: str
    body_text: str
    body_html: str
    locale: str


@dataclass(frozen=True)
class RenderedMessage:
    """A template rendered for one person: subject, plain text and HTML bodies."""

    template: str
    version: str  # the template source's content hash: which text exactly was sent
    locale: str
    subject: str
    text: str
    html: str


# The GSM 03.38 default alphabet; the extension table's characters take two septets each.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")


def sms_fragments(text: str) -> int:
    """How many SMS a text is sent as: GSM-7 fits 160 septets in one message and 153 per part
    of a longer one; anything else is UCS-2, 70 characters in one and 67 per part (counted in
    UTF-16 code units, so an emoji takes two)."""
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text):
        units, single, part = sum(2 if c in GSM7_EXTENSION else 1 for c in text), 160, 153
    else:
        units, single, part = len(text.encode("utf-16-le")) // 2, 70, 67
    if units <= single:
        return 1
    return -(-units // part)
