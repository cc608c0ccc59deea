"""Every table of the platform, imported in one place for Alembic and tests.

The one module allowed to import other modules' ``tables`` (ADR 0027): tables are private to
their module everywhere else.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from civicloom.applications.tables import ApplicationRow, DeadLetterRow, TaskRow, TimelineRow
from civicloom.audit.tables import AuditEntryRow, AuditSealRow
from civicloom.backoffice.tables import CaseNoteRow, InspectionAppointmentRow
from civicloom.catalogue.tables import BlueprintVersionRow
from civicloom.connectors.tables import ConnectorBatchAnswerRow, ConnectorCallbackRow
from civicloom.db import metadata
from civicloom.departments.tables import DepartmentRow
from civicloom.documents.tables import DocumentRow, LicenceRow
from civicloom.funding.tables import UsageFactRow
from civicloom.governance.bundle_tables import BundleRow
from civicloom.governance.tables import ChangeApprovalRow, ChangeRequestRow
from civicloom.govstack.pubsub.tables import (
    DeliveryRow as PubSubDeliveryRow,
)
from civicloom.govstack.pubsub.tables import (
    EventTypeRow,
    PublishedEventRow,
    SubscriptionRow,
)
from civicloom.identity.tables import ApiClientRow, SessionRow, StaffGrantRow, StaffRow
from civicloom.kpis.tables import AggregateWatermarkRow, KpiReportSnapshotRow, ServiceDayStateRow
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
from civicloom.worker.tables import WorkerHeartbeatRow

TABLES = (
    ApiClientRow,
    SessionRow,
    ApplicationRow,
    TaskRow,
    TimelineRow,
    DeadLetterRow,
    AuditEntryRow,
    AuditSealRow,
    DocumentRow,
    LicenceRow,
    BlueprintVersionRow,
    ConnectorCallbackRow,
    ConnectorBatchAnswerRow,
    DepartmentRow,
    OutboxRow,
    RuleEvaluationRow,
    WorkerHeartbeatRow,
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
    PublishedEventRow,
    PubSubDeliveryRow,
    ServiceDayStateRow,
    AggregateWatermarkRow,
    KpiReportSnapshotRow,
    ChangeRequestRow,
    ChangeApprovalRow,
    BundleRow,
)


def target_metadata() -> MetaData:
    """The metadata Alembic compares migrations against."""
    return metadata
