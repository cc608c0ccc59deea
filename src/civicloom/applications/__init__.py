"""Applications: one applicant's instance of a service, and (later) its case engine."""

from civicloom.applications.domain import ApplicationState, ApplicationView, SubmitApplication
from civicloom.applications.services import get_application, submit_application
from civicloom.applications.tables import ApplicationRow

__all__ = [
    "ApplicationRow",
    "ApplicationState",
    "ApplicationView",
    "SubmitApplication",
    "get_application",
    "submit_application",
]
