"""The back office: officers' work queue and task page, supervision, services and rules,
operations and audit — server-rendered pages over the platform's own use cases."""

from fastapi import APIRouter

from civicloom.backoffice.domain import InspectionPlan, QueueFilter, SlaState, sla_state
from civicloom.backoffice.officer import officer_router
from civicloom.backoffice.oversight import AuditQuery, search_audit
from civicloom.backoffice.queries import QueuePage, task_page, team_workload, work_queue
from civicloom.backoffice.roles import roles_router
from civicloom.backoffice.services import add_case_note, read_task_document, schedule_inspection

backoffice_router = APIRouter(include_in_schema=False)
backoffice_router.include_router(officer_router)
backoffice_router.include_router(roles_router)

__all__ = [
    "AuditQuery",
    "InspectionPlan",
    "QueueFilter",
    "QueuePage",
    "SlaState",
    "add_case_note",
    "backoffice_router",
    "read_task_document",
    "schedule_inspection",
    "search_audit",
    "sla_state",
    "task_page",
    "team_workload",
    "work_queue",
]
