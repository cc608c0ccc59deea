"""Every action an audit entry may name: one enum, so no module spells an action by hand.

The values are the strings stored in ``audit_entries.action`` (and covered by the chain hash);
they never change. A member that records someone reading personal data says so, and the
data-use log and the auditor's search find those reads by membership, not by a name pattern.
"""

from __future__ import annotations

from enum import StrEnum


class AuditAction(StrEnum):
    """What an audit entry records; ``personal_data_read`` marks reads of personal data."""

    # applications and the case engine
    APPLICATION_SUBMITTED = "application.submitted"
    APPLICATION_READ = "application.read"
    # a member of staff searched cases (ADR 0063): one entry per search, not per row
    CASES_SEARCHED = "case.searched"
    APPLICATION_APPROVED = "application.approved"
    APPLICATION_REJECTED = "application.rejected"
    # the legal deadline passed undecided (ADR 0053); what followed is in the entry's details
    APPLICATION_DEADLINE_PASSED = "application.deadline_passed"
    APPLICATION_WITHDRAWN = "application.withdrawn"
    APPLICATION_FAILED = "application.failed"
    DECISION_RECORDED = "decision.recorded"
    STEP_COMPLETED = "step.completed"
    STEP_DEAD_LETTERED = "step.dead_lettered"
    TASK_CLAIMED = "task.claimed"
    TASK_RELEASED = "task.released"
    TASK_ASSIGNED = "task.assigned"
    TASK_APPROVED = "task.approved"
    TASK_REJECTED = "task.rejected"
    TASK_ESCALATED = "task.escalated"
    INFORMATION_REQUESTED = "information.requested"
    INFORMATION_PROVIDED = "information.provided"
    DEAD_LETTER_REDRIVEN = "dead_letter.redriven"
    DEAD_LETTER_ABANDONED = "dead_letter.abandoned"
    COMPLETION_REFUSED = "completion.refused"  # an answer not bound to the task (ADR 0032)
    # back office
    NOTE_ADDED = "note.added"
    INSPECTION_SCHEDULED = "inspection.scheduled"
    # payments
    PAYMENT_INTENT_CREATED = "payment.intent_created"
    PAYMENT_RECEIVED = "payment.received"
    PAYMENT_DECLINED = "payment.declined"
    PAYMENT_ABANDONED = "payment.abandoned"
    PAYMENT_REFUNDED = "payment.refunded"
    PAYMENTS_RECONCILED = "payments.reconciled"
    PAYMENT_INTENT_SUPERSEDED = "payment.intent_superseded"  # a newer attempt replaced it
    PAYMENT_SUPERSEDED_PAID = "payment.superseded_paid"  # late success: refund, never the fee
    PAYMENT_REFUND_REQUESTED = "payment.refund_requested"  # pending until the provider accepts
    PAYMENT_REFUND_FAILED = "payment.refund_failed"  # the provider refused; amount released
    PAYMENT_P2G_NOTIFICATION = "payment.p2g_notification"  # every GovStack P2G notification
    # documents and licences
    DOCUMENT_STORED = "document.stored"
    DOCUMENT_READ = "document.read"
    DOCUMENT_PURGED = "document.purged"
    # retention (ADR 0050): a closed application's answers and an unsubmitted draft
    FORM_DATA_PURGED = "application.form_data_purged"
    DRAFT_PURGED = "draft.purged"
    # operational records past their use (issue 23): counted, one entry per table and run
    RECORDS_PURGED = "records.purged"
    LICENCE_ISSUED = "licence.issued"
    LICENCE_REVOKED = "licence.revoked"
    # registries, consent, representation
    REGISTER_READ = "register.read"
    CONSENT_GRANTED = "consent.granted"
    CONSENT_REVOKED = "consent.revoked"
    AGREEMENT_LOADED = "agreement.loaded"
    DEPARTMENT_REGISTERED = "department.registered"
    REPRESENTATION_VERIFIED = "representation.verified"
    REPRESENTATION_MANDATE = "representation.mandate"
    REPRESENTATION_REFUSED = "representation.refused"
    # delegated business mandates (ADR 0041)
    MANDATE_GRANTED = "mandate.granted"
    MANDATE_ACCEPTED = "mandate.accepted"
    MANDATE_REVOKED = "mandate.revoked"
    # the assisted channel (ADR 0044): the citizen takes over a counter application online
    APPLICATION_TAKEN_OVER = "application.taken_over"
    CLAIM_CODE_REISSUED = "application.claim_code_reissued"  # the receipt was lost
    # reviews of refusals (ADR 0059)
    REVIEW_REQUESTED = "review.requested"
    REVIEW_UPHELD = "review.upheld"
    REVIEW_OVERTURNED = "review.overturned"
    REVIEW_REMINDED = "review.reminded"  # the answer is due soon: the reviewers were reminded
    REVIEW_ESCALATED = "review.escalated"  # the answer is overdue: the supervisors were told
    # funding (no personal data: usage figures of a department)
    FUNDING_STATEMENT_READ = "funding.statement_read"
    # promotion between environments (ADR 0052): signed bundles of approved changes
    BUNDLE_EXPORTED = "bundle.exported"
    BUNDLE_IMPORTED = "bundle.imported"
    # identity
    LOGIN = "identity.login"
    LOGOUT = "identity.logout"
    LOGIN_FAILED = "identity.login_failed"
    ACCESS_DENIED = "identity.access_denied"
    API_KEY_CREATED = "identity.api_key_created"
    API_KEY_REVOKED = "identity.api_key_revoked"
    API_KEY_ROTATED = "identity.api_key_rotated"
    PREFERENCES_CHANGED = "identity.preferences_changed"  # channels and language, by the person
    # the staff directory (ADR 0042): an entry changed (sign-in, demo load), a grant given or
    # withdrawn by a department administrator
    STAFF_UPDATED = "staff.updated"
    STAFF_GRANTED = "staff.granted"
    STAFF_GRANT_REVOKED = "staff.grant_revoked"
    # governance: blueprints and decision models
    BLUEPRINT_PUBLISHED = "blueprint.published"
    BLUEPRINT_RETIRED = "blueprint.retired"
    DECISION_MODEL_PUBLISHED = "decision_model.published"
    DECISION_MODEL_RETIRED = "decision_model.retired"
    # change requests (ADR 0049): drafted, edited, submitted (checks ran), approved by one
    # party, withdrawn or refused, published by the worker at the effective date, imported
    # from another environment's bundle
    CHANGE_DRAFTED = "change.drafted"
    CHANGE_EDITED = "change.edited"
    CHANGE_SUBMITTED = "change.submitted"
    CHANGE_APPROVED = "change.approved"
    CHANGE_WITHDRAWN = "change.withdrawn"
    CHANGE_PUBLISHED = "change.published"
    CHANGE_IMPORTED = "change.imported"
    # in-flight applications (ADR 0058): a published change's migration declared, one
    # application moved to the new version by it, or moved back
    CHANGE_MIGRATION_DECLARED = "change.migration_declared"
    APPLICATION_VERSION_MOVED = "application.version_moved"
    APPLICATION_VERSION_RESTORED = "application.version_restored"
    # officer work: a supervisor takes a task over from its holder (issue 16)
    TASK_TAKEN_OVER = "task.taken_over"
    # GovStack messaging: a department system had e-mail sent through the platform
    MESSAGING_EMAIL_QUEUED = "messaging.email_queued"
    # GovStack IM pub/sub (ADR 0054): a room's event types, events, subscriptions, deliveries
    PUBSUB_EVENT_TYPE_CREATED = "pubsub.event_type_created"
    PUBSUB_EVENT_TYPE_DELETED = "pubsub.event_type_deleted"
    PUBSUB_EVENT_PUBLISHED = "pubsub.event_published"
    PUBSUB_EVENT_CANCELLED = "pubsub.event_cancelled"
    PUBSUB_SUBSCRIBED = "pubsub.subscribed"
    PUBSUB_SUBSCRIPTION_CHANGED = "pubsub.subscription_changed"
    PUBSUB_UNSUBSCRIBED = "pubsub.unsubscribed"
    PUBSUB_EVENT_DELIVERED = "pubsub.event_delivered"
    PUBSUB_EVENT_FETCHED = "pubsub.event_fetched"
    PUBSUB_EVENT_ACKNOWLEDGED = "pubsub.event_acknowledged"
    PUBSUB_DELIVERY_DEAD = "pubsub.delivery_dead"
    # who may subscribe to a room (ADR 0057); stored events and deliveries purged after retention
    PUBSUB_SUBSCRIBER_ALLOWED = "pubsub.subscriber_allowed"
    PUBSUB_SUBSCRIBER_REMOVED = "pubsub.subscriber_removed"
    PUBSUB_PURGED = "pubsub.purged"
    # an operator registered IM subsystems (rooms) and push endpoints for a machine client
    GOVSTACK_CLIENT_REGISTERED = "govstack.client_registered"

    @property
    def personal_data_read(self) -> bool:
        """Whether an entry with this action records someone reading personal data."""
        return self in PERSONAL_DATA_READS


# The reads of personal data: the citizen's data-use log and the auditor's "reads" filter.
PERSONAL_DATA_READS: frozenset[AuditAction] = frozenset(
    {
        AuditAction.APPLICATION_READ,
        AuditAction.CASES_SEARCHED,
        AuditAction.DOCUMENT_READ,
        AuditAction.REGISTER_READ,
    }
)
