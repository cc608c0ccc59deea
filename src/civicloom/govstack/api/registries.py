"""GovStack registries facade (being built: see civicloom.govstack)."""

from __future__ import annotations

from fastapi import APIRouter

registries_router = APIRouter(tags=["govstack-registries"])
