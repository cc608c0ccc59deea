"""The back office: officers' work queue and task page, supervision, services and rules,
operations and audit — server-rendered pages over the platform's own use cases."""

from civicloom.backoffice.domain import InspectionPlan, QueueFilter, SlaState, sla_state
from civicloom.backoffice.oversight import AuditQuery, search_audit
from civicloom.backoffice.pages import backoffice_router
from civicloom.backoffice.pages.common import department_namer
from civicloom.backoffice.pages.common import nav as backoffice_nav
from civicloom.backoffice.queries import QueuePage, task_page, team_workload, work_queue
from civicloom.backoffice.services import add_case_note, read_task_document, schedule_inspection

__all__ = [
    "AuditQuery",
    "InspectionPlan",
    "QueueFilter",
    "QueuePage",
    "SlaState",
    "add_case_note",
    "backoffice_nav",
    "backoffice_router",
    "department_namer",
    "read_task_document",
    "schedule_inspection",
    "search_audit",
    "sla_state",
    "task_page",
    "team_workload",
    "work_queue",
]
