"""GovStack registration facade (being built: see civicloom.govstack)."""

from __future__ import annotations

from fastapi import APIRouter

registration_router = APIRouter(tags=["govstack-registration"])
