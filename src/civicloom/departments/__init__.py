"""Departments: who owns which systems, rules and data."""

from civicloom.departments.domain import Department
from civicloom.departments.inprocess import CapabilityFunction, InProcessGateway
from civicloom.departments.loader import load_departments
from civicloom.departments.ports import (
    CAPABILITY_GATEWAY,
    PAYMENTS_SENDER,
    AnswerPoller,
    CallOutcome,
    CapabilityCall,
    CapabilityGateway,
    CapabilityResult,
    CompletionRefusal,
    CompletionVerdict,
    Connector,
    ConnectorError,
    ContractViolation,
    DepartmentUnavailable,
    ExternalCompletion,
    HealthReport,
    PermanentError,
    TransientError,
)
from civicloom.departments.services import (
    department_exists,
    department_names,
    list_departments,
    register_departments,
    sync_departments,
)
from civicloom.kernel import LocalisedText

__all__ = [
    "CAPABILITY_GATEWAY",
    "PAYMENTS_SENDER",
    "AnswerPoller",
    "CallOutcome",
    "CapabilityCall",
    "CapabilityFunction",
    "CapabilityGateway",
    "CapabilityResult",
    "CompletionRefusal",
    "CompletionVerdict",
    "Connector",
    "ConnectorError",
    "ContractViolation",
    "Department",
    "DepartmentUnavailable",
    "ExternalCompletion",
    "HealthReport",
    "InProcessGateway",
    "LocalisedText",
    "PermanentError",
    "TransientError",
    "department_exists",
    "department_names",
    "list_departments",
    "load_departments",
    "register_departments",
    "sync_departments",
]
