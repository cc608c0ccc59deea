"""Every table of the platform, imported in one place for Alembic and tests."""

from __future__ import annotations

from sqlalchemy import MetaData

from civicloom.applications import ApplicationRow, DeadLetterRow, TaskRow, TimelineRow
from civicloom.audit import AuditEntryRow, AuditSealRow
from civicloom.backoffice import CaseNoteRow, InspectionAppointmentRow
from civicloom.catalogue import BlueprintVersionRow
from civicloom.connectors import ConnectorCallbackRow
from civicloom.db import metadata
from civicloom.departments import DepartmentRow
from civicloom.documents import DocumentRow, LicenceRow
from civicloom.identity import ApiClientRow, SessionRow
from civicloom.notifications import DeliveryRow, PreferenceRow
from civicloom.outbox import OutboxRow
from civicloom.payments import PaymentRow, PaymentWebhookRow, ReconciliationRow, RefundRow
from civicloom.portal import DraftRow
from civicloom.registries import AgreementRow, ConsentRow, DataUseRow, RepresentationRow
from civicloom.rules import RuleEvaluationRow
from civicloom.worker import WorkerHeartbeatRow

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
    DepartmentRow,
    OutboxRow,
    RuleEvaluationRow,
    WorkerHeartbeatRow,
    PaymentRow,
    RefundRow,
    PaymentWebhookRow,
    ReconciliationRow,
    DraftRow,
    DeliveryRow,
    PreferenceRow,
    CaseNoteRow,
    InspectionAppointmentRow,
    AgreementRow,
    ConsentRow,
    DataUseRow,
    RepresentationRow,
)


def target_metadata() -> MetaData:
    """The metadata Alembic compares migrations against."""
    return metadata
