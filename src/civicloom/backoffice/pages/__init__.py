"""The back office's pages: the officers' work queue and task page, and the pages of the
other staff roles (supervision, services and rules, operations, audit)."""

from fastapi import APIRouter

from civicloom.backoffice.pages.capabilities import capabilities_pages_router
from civicloom.backoffice.pages.cases import cases_router
from civicloom.backoffice.pages.directory import directory_router
from civicloom.backoffice.pages.officer import officer_router
from civicloom.backoffice.pages.reviews import reviews_pages_router
from civicloom.backoffice.pages.roles import roles_router

backoffice_router = APIRouter(include_in_schema=False)
backoffice_router.include_router(officer_router)
backoffice_router.include_router(roles_router)
backoffice_router.include_router(directory_router)
backoffice_router.include_router(capabilities_pages_router)
backoffice_router.include_router(cases_router)
backoffice_router.include_router(reviews_pages_router)

__all__ = ["backoffice_router"]
