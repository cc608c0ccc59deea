"""GovStack mediator facade (being built: see civicloom.govstack)."""

from __future__ import annotations

from fastapi import APIRouter

mediator_router = APIRouter(tags=["govstack-mediator"])
