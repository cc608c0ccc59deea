"""Words for what the audit trail and a case's history record: every ``AuditAction`` has a
label a person reads (English and Simplified Chinese through the catalogues), never its id."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from civicloom.audit import AuditAction


def _same(text: str) -> str:
    return text


def action_labels(gettext: Callable[[str], str] = _same) -> dict[str, str]:
    """Each action's label in the reader's language (``gettext`` of the page's locale)."""
    _ = gettext
    return {
        AuditAction.APPLICATION_SUBMITTED.value: _("Application sent"),
        AuditAction.APPLICATION_READ.value: _("Application read"),
        AuditAction.CASES_SEARCHED.value: _("Cases searched"),
        AuditAction.APPLICATION_APPROVED.value: _("Application approved"),
        AuditAction.APPLICATION_REJECTED.value: _("Application refused"),
        AuditAction.APPLICATION_WITHDRAWN.value: _("Application withdrawn by the applicant"),
        AuditAction.APPLICATION_FAILED.value: _("Application could not be completed"),
        AuditAction.DECISION_RECORDED.value: _("Rules applied"),
        AuditAction.STEP_COMPLETED.value: _("Step completed"),
        AuditAction.STEP_DEAD_LETTERED.value: _("Step stopped after repeated failures"),
        AuditAction.TASK_CLAIMED.value: _("Task claimed"),
        AuditAction.TASK_RELEASED.value: _("Task released to the queue"),
        AuditAction.TASK_ASSIGNED.value: _("Task assigned"),
        AuditAction.TASK_APPROVED.value: _("Step approved by an officer"),
        AuditAction.TASK_REJECTED.value: _("Step rejected by an officer"),
        AuditAction.TASK_ESCALATED.value: _("Escalated to a supervisor"),
        AuditAction.INFORMATION_REQUESTED.value: _("Applicant asked for more information"),
        AuditAction.INFORMATION_PROVIDED.value: _("Applicant sent more information"),
        AuditAction.DEAD_LETTER_REDRIVEN.value: _("Failed step tried again"),
        AuditAction.DEAD_LETTER_ABANDONED.value: _("Failed step abandoned"),
        AuditAction.COMPLETION_REFUSED.value: _("An answer from outside was refused"),
        AuditAction.NOTE_ADDED.value: _("Internal note added"),
        AuditAction.INSPECTION_SCHEDULED.value: _("Inspection scheduled"),
        AuditAction.PAYMENT_INTENT_CREATED.value: _("Payment started"),
        AuditAction.PAYMENT_RECEIVED.value: _("Fee received"),
        AuditAction.PAYMENT_DECLINED.value: _("Payment declined"),
        AuditAction.PAYMENT_ABANDONED.value: _("Payment not completed"),
        AuditAction.PAYMENT_REFUNDED.value: _("Fee refunded"),
        AuditAction.PAYMENTS_RECONCILED.value: _("Payments reconciled with the provider"),
        AuditAction.PAYMENT_INTENT_SUPERSEDED.value: _("Payment attempt replaced by a newer one"),
        AuditAction.PAYMENT_SUPERSEDED_PAID.value: _("Late payment recorded for refund"),
        AuditAction.PAYMENT_REFUND_REQUESTED.value: _("Refund requested"),
        AuditAction.PAYMENT_REFUND_FAILED.value: _("Refund refused by the provider"),
        AuditAction.PAYMENT_P2G_NOTIFICATION.value: _("Payment notice from a department system"),
        AuditAction.DOCUMENT_STORED.value: _("Document uploaded"),
        AuditAction.DOCUMENT_READ.value: _("Document opened"),
        AuditAction.DOCUMENT_PURGED.value: _("Document deleted after its retention period"),
        AuditAction.LICENCE_ISSUED.value: _("Licence issued"),
        AuditAction.LICENCE_REVOKED.value: _("Licence revoked"),
        AuditAction.REGISTER_READ.value: _("Register consulted"),
        AuditAction.CONSENT_GRANTED.value: _("Consent given to reuse data"),
        AuditAction.CONSENT_REVOKED.value: _("Consent withdrawn"),
        AuditAction.AGREEMENT_LOADED.value: _("Data-sharing agreement loaded"),
        AuditAction.DEPARTMENT_REGISTERED.value: _("Department registered"),
        AuditAction.REPRESENTATION_VERIFIED.value: _("Right to act for the business verified"),
        AuditAction.REPRESENTATION_MANDATE.value: _("Acting for the business under a mandate"),
        AuditAction.REPRESENTATION_REFUSED.value: _("Right to act for the business refused"),
        AuditAction.MANDATE_GRANTED.value: _("Business mandate granted"),
        AuditAction.MANDATE_ACCEPTED.value: _("Business mandate accepted"),
        AuditAction.MANDATE_REVOKED.value: _("Business mandate revoked"),
        AuditAction.APPLICATION_TAKEN_OVER.value: _("Counter application taken over online"),
        AuditAction.CLAIM_CODE_REISSUED.value: _("New claim code issued at the counter"),
        AuditAction.REVIEW_REQUESTED.value: _("Applicant asked for a review of the refusal"),
        AuditAction.REVIEW_UPHELD.value: _("Review: refusal upheld"),
        AuditAction.REVIEW_OVERTURNED.value: _("Review: refusal overturned"),
        AuditAction.REVIEW_REMINDED.value: _("Review: reviewers reminded that the answer is due"),
        AuditAction.REVIEW_ESCALATED.value: _("Review: answer overdue, escalated to supervisors"),
        AuditAction.FUNDING_STATEMENT_READ.value: _("Funding statement read"),
        AuditAction.LOGIN.value: _("Signed in"),
        AuditAction.LOGOUT.value: _("Signed out"),
        AuditAction.LOGIN_FAILED.value: _("Sign-in failed"),
        AuditAction.ACCESS_DENIED.value: _("Access refused"),
        AuditAction.API_KEY_CREATED.value: _("API key created"),
        AuditAction.API_KEY_REVOKED.value: _("API key revoked"),
        AuditAction.API_KEY_ROTATED.value: _("API key replaced"),
        AuditAction.PREFERENCES_CHANGED.value: _("Contact preferences changed"),
        AuditAction.STAFF_UPDATED.value: _("Staff directory entry updated"),
        AuditAction.STAFF_GRANTED.value: _("Staff grant given"),
        AuditAction.STAFF_GRANT_REVOKED.value: _("Staff grant withdrawn"),
        AuditAction.BLUEPRINT_PUBLISHED.value: _("Service version published"),
        AuditAction.BLUEPRINT_RETIRED.value: _("Service version retired"),
        AuditAction.DECISION_MODEL_PUBLISHED.value: _("Decision model published"),
        AuditAction.DECISION_MODEL_RETIRED.value: _("Decision model retired"),
        AuditAction.TASK_TAKEN_OVER.value: _("Task taken over by a supervisor"),
        AuditAction.MESSAGING_EMAIL_QUEUED.value: _("E-mail sent for a department system"),
        AuditAction.APPLICATION_DEADLINE_PASSED.value: _("Legal deadline passed"),
        AuditAction.PUBSUB_EVENT_TYPE_CREATED.value: _("Event type created in a room"),
        AuditAction.PUBSUB_EVENT_TYPE_DELETED.value: _("Event type deleted from a room"),
        AuditAction.PUBSUB_EVENT_PUBLISHED.value: _("Event published"),
        AuditAction.PUBSUB_EVENT_CANCELLED.value: _("Published event cancelled"),
        AuditAction.PUBSUB_SUBSCRIBED.value: _("Subscribed to an event type"),
        AuditAction.PUBSUB_SUBSCRIPTION_CHANGED.value: _("Subscription changed"),
        AuditAction.PUBSUB_UNSUBSCRIBED.value: _("Subscription ended"),
        AuditAction.PUBSUB_EVENT_DELIVERED.value: _("Event delivered to a subscriber"),
        AuditAction.PUBSUB_EVENT_FETCHED.value: _("Event fetched by a subscriber"),
        AuditAction.PUBSUB_EVENT_ACKNOWLEDGED.value: _("Event acknowledged by a subscriber"),
        AuditAction.PUBSUB_DELIVERY_DEAD.value: _(
            "Event delivery given up after repeated failures"
        ),
        AuditAction.GOVSTACK_CLIENT_REGISTERED.value: _(
            "Information Mediator subsystem registered"
        ),
        AuditAction.PUBSUB_SUBSCRIBER_ALLOWED.value: _("Client allowed to subscribe to a room"),
        AuditAction.PUBSUB_SUBSCRIBER_REMOVED.value: _(
            "Client no longer allowed to subscribe to a room"
        ),
        AuditAction.PUBSUB_PURGED.value: _("Old published events purged"),
        AuditAction.BUNDLE_EXPORTED.value: _("Change bundle exported to another environment"),
        AuditAction.BUNDLE_IMPORTED.value: _("Change bundle imported from another environment"),
        AuditAction.CHANGE_DRAFTED.value: _("Change request drafted"),
        AuditAction.CHANGE_EDITED.value: _("Change request edited"),
        AuditAction.CHANGE_SUBMITTED.value: _("Change request submitted for approval"),
        AuditAction.CHANGE_APPROVED.value: _("Change request approved"),
        AuditAction.CHANGE_WITHDRAWN.value: _("Change request withdrawn"),
        AuditAction.CHANGE_PUBLISHED.value: _("Change published"),
        AuditAction.CHANGE_IMPORTED.value: _("Change request imported for approval"),
        AuditAction.CHANGE_MIGRATION_DECLARED.value: _(
            "Change request declares how running applications move"
        ),
        AuditAction.APPLICATION_VERSION_MOVED.value: _(
            "Application moved to a new version of its service"
        ),
        AuditAction.APPLICATION_VERSION_RESTORED.value: _(
            "Application moved back to the version it was on"
        ),
        AuditAction.FORM_DATA_PURGED.value: _("Answers deleted after their retention period"),
        AuditAction.DRAFT_PURGED.value: _("Unsent draft deleted after its retention period"),
        AuditAction.RECORDS_PURGED.value: _("Operational records deleted after their use"),
    }


def action_label(action: str, gettext: Callable[[str], str] = _same) -> str:
    """One action's label; an action recorded by an older release reads as recorded."""
    return action_labels(gettext).get(action, gettext("Recorded"))


PLATFORM_CHANNELS = frozenset({"system", "fixtures", "cli", "loadgen"})


def actor_label(
    actor: str, people: Mapping[str, str], gettext: Callable[[str], str] = _same
) -> str:
    """Who acted, in words: a member of staff by name, the platform, a department's system,
    or the applicant (officers read the case, not who the applicant is)."""
    channel, _sep, subject = actor.partition(":")
    if subject in people:
        return people[subject]
    if channel in PLATFORM_CHANNELS or not subject:
        return gettext("The platform")
    if channel == "api-key":
        return gettext("A department system")
    return gettext("The applicant")


def purpose_labels(gettext: Callable[[str], str] = _same) -> dict[str, str]:
    """The purposes the platform records with an audit entry, in the reader's language; a
    purpose from elsewhere (a data-sharing agreement's) reads as recorded."""
    _ = gettext
    return {
        "retention period ended": _("Retention period ended"),
        "sign in": _("Sign in"),
        "sign out": _("Sign out"),
        "apply for service": _("Apply for a service"),
        "applicant views own application": _("The applicant views their application"),
        "an officer reviews the application": _("An officer reviews the application"),
        "the applicant takes over an application made for them at a counter": _(
            "The applicant takes over an application made for them at a counter"
        ),
        "revoke licence": _("Revoke a licence"),
        "review request refused": _("A request for a review was refused"),
        "prefill the applicant's form (once-only)": _(
            "Fill in the applicant's form from registers (once-only)"
        ),
        "notification preferences": _("Notification preferences"),
        "no longer needed to run the platform": _("No longer needed to run the platform"),
        "issue licence": _("Issue a licence"),
        "funding statement": _("Funding statement"),
        "application document": _("A document of the application"),
        "applicant views status": _("The applicant views the status"),
        "applicant downloads own document": _("The applicant downloads their document"),
        "answers kept for moving back, no longer needed": _(
            "Answers kept for moving back, no longer needed"
        ),
        "an officer looks for a case": _("An officer looks for a case"),
        "act for a business": _("Act for a business"),
        "a new claim code for a lost counter receipt": _(
            "A new claim code for a lost counter receipt"
        ),
    }
