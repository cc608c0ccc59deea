"""Departments: who owns which systems, rules and data."""

from civicloom.departments.domain import Department, LocalisedText
from civicloom.departments.loader import load_departments
from civicloom.departments.services import list_departments, sync_departments
from civicloom.departments.tables import DepartmentRow

__all__ = [
    "Department",
    "DepartmentRow",
    "LocalisedText",
    "list_departments",
    "load_departments",
    "sync_departments",
]
