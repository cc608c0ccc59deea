"""The portal's pages: finding and applying for a service, the eligibility check, and the
applicant's account (applications, messages, data use)."""

from fastapi import APIRouter

from civicloom.portal.pages.account import account_router
from civicloom.portal.pages.apply import apply_router
from civicloom.portal.pages.counter import counter_router
from civicloom.portal.pages.data_catalogue import data_catalogue_router
from civicloom.portal.pages.eligibility import eligibility_router
from civicloom.portal.pages.mandates import mandates_router
from civicloom.portal.pages.reviews import reviews_router
from civicloom.portal.pages.support import support_router

portal_router = APIRouter(include_in_schema=False)
portal_router.include_router(apply_router)
portal_router.include_router(account_router)
portal_router.include_router(eligibility_router)
portal_router.include_router(mandates_router)
portal_router.include_router(counter_router)
portal_router.include_router(support_router)
portal_router.include_router(data_catalogue_router)
portal_router.include_router(reviews_router)

__all__ = ["portal_router"]
