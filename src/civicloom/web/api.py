"""The web layer's JSON route: who the caller is (``/auth/me``; the sign-in pages are
``web/pages.py``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from civicloom.identity import mandates_of
from civicloom.web.deps import CurrentPrincipal, authenticated

auth_api_router = APIRouter(prefix="/auth", include_in_schema=False)


@auth_api_router.get("/me", dependencies=[authenticated(machines=True)])
async def me(principal: CurrentPrincipal) -> dict[str, Any]:
    """Who the caller is: subject, roles, department and business mandates."""
    return {
        "subject": principal.subject,
        "display_name": principal.display_name,
        "roles": sorted(principal.roles),
        "department": principal.department,
        "mandates": sorted(mandates_of(principal)),
        "authenticated_by": principal.authenticated_by,
    }
