"""Applications and the case engine that runs them across departments."""

from civicloom.applications.case import (
    NOTIFY_CHANNEL,
    AuditNote,
    CaseIdentity,
    EventNote,
    TimelineNote,
    record_case_change,
)
from civicloom.applications.casework import (
    Forbidden,
    TaskFilter,
    answer_information_request,
    assign_task,
    claim_task,
    count_open_tasks,
    decide_task,
    list_officer_tasks,
    read_officer_task,
    request_information,
    withdraw_application,
)
from civicloom.applications.completion import complete_external_step
from civicloom.applications.domain import (
    ApplicationState,
    ApplicationStatus,
    ApplicationView,
    OfficerDecision,
    StepStatus,
    SubmitApplication,
    TaskState,
    TimelineEntry,
)
from civicloom.applications.execution import ClaimedStep, StepHandler, StepRunner
from civicloom.applications.operations import list_dead_letters, resolve_dead_letter
from civicloom.applications.refs import (
    ApplicationRef,
    TaskRef,
    find_application,
    find_task,
    find_waiting_task,
)
from civicloom.applications.services import (
    application_status,
    get_application,
    submit_application,
    submit_in,
)
from civicloom.applications.sla import sweep_slas
from civicloom.applications.tables import ApplicationRow, DeadLetterRow, TaskRow, TimelineRow

__all__ = [
    "NOTIFY_CHANNEL",
    "ApplicationRef",
    "ApplicationRow",
    "ApplicationState",
    "ApplicationStatus",
    "ApplicationView",
    "AuditNote",
    "CaseIdentity",
    "ClaimedStep",
    "DeadLetterRow",
    "EventNote",
    "Forbidden",
    "OfficerDecision",
    "StepHandler",
    "StepRunner",
    "StepStatus",
    "SubmitApplication",
    "TaskFilter",
    "TaskRef",
    "TaskRow",
    "TaskState",
    "TimelineEntry",
    "TimelineNote",
    "TimelineRow",
    "answer_information_request",
    "application_status",
    "assign_task",
    "claim_task",
    "complete_external_step",
    "count_open_tasks",
    "decide_task",
    "find_application",
    "find_task",
    "find_waiting_task",
    "get_application",
    "list_dead_letters",
    "list_officer_tasks",
    "read_officer_task",
    "record_case_change",
    "request_information",
    "resolve_dead_letter",
    "submit_application",
    "submit_in",
    "sweep_slas",
    "withdraw_application",
]
