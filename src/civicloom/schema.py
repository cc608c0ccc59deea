"""Every table of the platform, imported in one place for Alembic and tests.

The one module allowed to import other modules' ``tables`` (ADR 0027): tables are private to
their module everywhere else.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from civicloom.applications.tables import (
    ApplicationRow,
    DeadLetterRow,
    ReviewRow,
    TaskRow,
    TimelineRow,
)
from civicloom.audit.tables import AuditEntryRow, AuditReadRow, AuditSealRow
from civicloom.backoffice.tables import CaseNoteRow, InspectionAppointmentRow
from civicloom.catalogue.tables import BlueprintVersionRow
from civicloom.connectors.tables import ConnectorBatchAnswerRow, ConnectorCallbackRow
from civicloom.db import metadata
from civicloom.departments.tables import DepartmentRow
from civicloom.documents.tables import DocumentRow, LicenceRow
from civicloom.funding.tables import UsageFactRow
from civicloom.governance.bundle_tables import BundleRow
from civicloom.governance.tables import ApplicationMoveRow, ChangeApprovalRow, ChangeRequestRow
from civicloom.govstack.pubsub.tables import (
    AllowedSubscriberRow,
    EventTypeRow,
    PublishedEventRow,
    SubscriptionRow,
)
from civicloom.govstack.pubsub.tables import (
    DeliveryRow as PubSubDeliveryRow,
)
from civicloom.identity.tables import (
    ApiClientRow,
    RateLimitWindowRow,
    SessionRow,
    StaffGrantRow,
    StaffRow,
)
from civicloom.kpis.tables import (
    AggregateWatermarkRow,
    KpiPeriodRequestRow,
    KpiReportSnapshotRow,
    ServiceDayStateRow,
)
from civicloom.notifications.tables import DeliveryRow, PreferenceRow
from civicloom.outbox.tables import OutboxRow
from civicloom.payments.tables import PaymentRow, PaymentWebhookRow, ReconciliationRow, RefundRow
from civicloom.portal.tables import CounterApplicationRow, DraftRow, FeedbackRow
from civicloom.registries.tables import (
    AgreementRow,
    ConsentRow,
    DataUseRow,
    DelegatedMandateRow,
    RepresentationRow,
)
from civicloom.rules.tables import RuleEvaluationRow
from civicloom.worker.tables import WorkerConnectorStateRow, WorkerHeartbeatRow

TABLES = (
    ApiClientRow,
    SessionRow,
    ApplicationRow,
    TaskRow,
    TimelineRow,
    DeadLetterRow,
    ReviewRow,
    AuditEntryRow,
    AuditSealRow,
    AuditReadRow,
    DocumentRow,
    LicenceRow,
    BlueprintVersionRow,
    ConnectorCallbackRow,
    ConnectorBatchAnswerRow,
    DepartmentRow,
    OutboxRow,
    RuleEvaluationRow,
    WorkerHeartbeatRow,
    WorkerConnectorStateRow,
    RateLimitWindowRow,
    PaymentRow,
    RefundRow,
    PaymentWebhookRow,
    ReconciliationRow,
    DraftRow,
    CounterApplicationRow,
    FeedbackRow,
    DeliveryRow,
    PreferenceRow,
    CaseNoteRow,
    InspectionAppointmentRow,
    AgreementRow,
    ConsentRow,
    DataUseRow,
    RepresentationRow,
    DelegatedMandateRow,
    UsageFactRow,
    StaffRow,
    StaffGrantRow,
    EventTypeRow,
    SubscriptionRow,
    AllowedSubscriberRow,
    PublishedEventRow,
    PubSubDeliveryRow,
    ServiceDayStateRow,
    AggregateWatermarkRow,
    KpiReportSnapshotRow,
    KpiPeriodRequestRow,
    ChangeRequestRow,
    ChangeApprovalRow,
    ApplicationMoveRow,
    BundleRow,
)


def target_metadata() -> MetaData:
    """The metadata Alembic compares migrations against."""
    return metadata
