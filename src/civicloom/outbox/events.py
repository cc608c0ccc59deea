"""Every CloudEvent type the platform writes to the outbox, with who writes it and who reads it.

The values are the ``type`` attribute of the CloudEvent and the outbox ``topic``; they never
change (integrators bind RabbitMQ queues to them). ``EVENTS`` is the one table of producers
and consumers: a test builds the real worker and fails when a declared consumer does not
handle its event, or when an event has no consumer at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# Consumed in the process by the worker's subscribers and never published to the exchange.
INTERNAL_PREFIX = "internal."


class EventType(StrEnum):
    """The type of a CloudEvent (and the topic of its outbox row)."""

    APPLICATION_SUBMITTED = "civicloom.application.submitted"
    APPLICATION_APPROVED = "civicloom.application.approved"
    APPLICATION_REJECTED = "civicloom.application.rejected"
    APPLICATION_WITHDRAWN = "civicloom.application.withdrawn"
    APPLICATION_FAILED = "civicloom.application.failed"
    # The legal deadline passed with no decision (ADR 0053): for the departments' systems.
    APPLICATION_DEADLINE_PASSED = "civicloom.application.deadline_passed"
    TASK_CREATED = "civicloom.task.created"
    TASK_ESCALATED = "civicloom.task.escalated"
    TASK_SLA_REMINDER = "civicloom.task.sla_reminder"
    TASK_DEAD_LETTERED = "civicloom.task.dead_lettered"
    INFORMATION_REQUESTED = "civicloom.information.requested"
    INFORMATION_PROVIDED = "civicloom.information.provided"
    INSPECTION_SCHEDULED = "civicloom.inspection.scheduled"
    PAYMENT_REQUESTED = "civicloom.payment.requested"
    PAYMENT_RECEIVED = "civicloom.payment.received"
    PAYMENT_DECLINED = "civicloom.payment.declined"
    PAYMENT_ABANDONED = "civicloom.payment.abandoned"
    PAYMENT_REFUNDED = "civicloom.payment.refunded"
    LICENCE_ISSUED = "civicloom.licence.issued"
    # Reviews of refusals (ADR 0059): asked by the applicant, decided by the department.
    REVIEW_REQUESTED = "civicloom.review.requested"
    REVIEW_UPHELD = "civicloom.review.upheld"
    REVIEW_OVERTURNED = "civicloom.review.overturned"
    # The staff who may decide a review are told it arrived, reminded before its answer is due
    # and, once overdue, the supervisors are told (ADR 0059). Internal: staff ids (who refused,
    # who is excluded) never leave the platform.
    REVIEW_ARRIVED = "internal.review.arrived"
    REVIEW_SLA_REMINDER = "internal.review.sla_reminder"
    REVIEW_ESCALATED = "internal.review.escalated"
    NOTIFICATION_REQUESTED = "civicloom.notification.requested"
    NOTIFICATION_DELIVER = "internal.notification.deliver"
    # Someone other than a director applied for a business: its directors are told (ADR
    # 0041). Internal: the directors' ids never leave the platform.
    BUSINESS_ACTED_FOR = "internal.business.acted_for"
    # A GovStack IM pub/sub event handed to one PUSH subscriber (ADR 0054). Internal: the
    # worker's pub/sub deliverer posts it to the subscriber's registered endpoint.
    PUBSUB_DELIVER = "internal.pubsub.deliver"

    @property
    def internal(self) -> bool:
        """Whether the event stays in the process (handed to subscribers, never published)."""
        return self.value.startswith(INTERNAL_PREFIX)


# The worker's publisher: every event not internal goes to the RabbitMQ topic exchange
# (``settings.amqp_exchange``), where department systems and integrators bind their queues.
EXCHANGE = "exchange"
# The notifications module's subscriber (``NotificationDispatcher.name``).
NOTIFICATIONS = "notifications"

APPLICATIONS = "civicloom.applications"
BACKOFFICE = "civicloom.backoffice"
DOCUMENTS = "civicloom.documents"
PAYMENTS = "civicloom.payments"
NOTIFICATIONS_MODULE = "civicloom.notifications"
GOVSTACK = "civicloom.govstack"
# The GovStack IM pub/sub deliverer (``govstack.pubsub.PushDeliverer.name``).
PUBSUB = "pubsub"
# The platform's case events published into its IM room (``govstack.pubsub.CaseEventBridge``).
CASE_EVENTS_ROOM = "pubsub-case-events"


@dataclass(frozen=True)
class EventRoute:
    """Who writes an event and who handles it."""

    producers: tuple[str, ...]
    consumers: tuple[str, ...]


_PUBLIC_AND_NOTIFIED = (EXCHANGE, NOTIFICATIONS)
_PUBLIC_NOTIFIED_ROOM = (EXCHANGE, NOTIFICATIONS, CASE_EVENTS_ROOM)
_PUBLIC_ROOM = (EXCHANGE, CASE_EVENTS_ROOM)

EVENTS: dict[EventType, EventRoute] = {
    EventType.APPLICATION_SUBMITTED: EventRoute((APPLICATIONS,), _PUBLIC_NOTIFIED_ROOM),
    EventType.APPLICATION_APPROVED: EventRoute((APPLICATIONS,), _PUBLIC_NOTIFIED_ROOM),
    EventType.APPLICATION_REJECTED: EventRoute((APPLICATIONS,), _PUBLIC_NOTIFIED_ROOM),
    EventType.APPLICATION_WITHDRAWN: EventRoute((APPLICATIONS,), _PUBLIC_ROOM),
    EventType.APPLICATION_FAILED: EventRoute((APPLICATIONS,), _PUBLIC_ROOM),
    EventType.APPLICATION_DEADLINE_PASSED: EventRoute((APPLICATIONS,), (EXCHANGE,)),
    EventType.TASK_CREATED: EventRoute((APPLICATIONS,), (EXCHANGE,)),
    EventType.TASK_ESCALATED: EventRoute((APPLICATIONS,), _PUBLIC_AND_NOTIFIED),
    EventType.TASK_SLA_REMINDER: EventRoute((APPLICATIONS,), _PUBLIC_AND_NOTIFIED),
    EventType.TASK_DEAD_LETTERED: EventRoute((APPLICATIONS,), (EXCHANGE,)),
    EventType.INFORMATION_REQUESTED: EventRoute((APPLICATIONS,), _PUBLIC_AND_NOTIFIED),
    EventType.INFORMATION_PROVIDED: EventRoute((APPLICATIONS,), (EXCHANGE,)),
    EventType.INSPECTION_SCHEDULED: EventRoute((BACKOFFICE,), (EXCHANGE,)),
    EventType.PAYMENT_REQUESTED: EventRoute((APPLICATIONS,), _PUBLIC_AND_NOTIFIED),
    EventType.PAYMENT_RECEIVED: EventRoute((PAYMENTS,), _PUBLIC_AND_NOTIFIED),
    EventType.PAYMENT_DECLINED: EventRoute((PAYMENTS,), (EXCHANGE,)),
    EventType.PAYMENT_ABANDONED: EventRoute((PAYMENTS,), (EXCHANGE,)),
    EventType.PAYMENT_REFUNDED: EventRoute((PAYMENTS,), (EXCHANGE,)),
    EventType.LICENCE_ISSUED: EventRoute((DOCUMENTS,), _PUBLIC_NOTIFIED_ROOM),
    EventType.REVIEW_REQUESTED: EventRoute((APPLICATIONS,), _PUBLIC_AND_NOTIFIED),
    EventType.REVIEW_UPHELD: EventRoute((APPLICATIONS,), _PUBLIC_AND_NOTIFIED),
    EventType.REVIEW_OVERTURNED: EventRoute((APPLICATIONS,), _PUBLIC_AND_NOTIFIED),
    EventType.REVIEW_ARRIVED: EventRoute((APPLICATIONS,), (NOTIFICATIONS,)),
    EventType.REVIEW_SLA_REMINDER: EventRoute((APPLICATIONS,), (NOTIFICATIONS,)),
    EventType.REVIEW_ESCALATED: EventRoute((APPLICATIONS,), (NOTIFICATIONS,)),
    # A blueprint's ``notify`` step: the notifications module sends the step's template.
    EventType.NOTIFICATION_REQUESTED: EventRoute((APPLICATIONS,), _PUBLIC_AND_NOTIFIED),
    EventType.NOTIFICATION_DELIVER: EventRoute((NOTIFICATIONS_MODULE,), (NOTIFICATIONS,)),
    EventType.BUSINESS_ACTED_FOR: EventRoute((APPLICATIONS,), (NOTIFICATIONS,)),
    EventType.PUBSUB_DELIVER: EventRoute((GOVSTACK,), (PUBSUB,)),
}
