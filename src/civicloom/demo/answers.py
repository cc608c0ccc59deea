"""Alice's answers to the demo's *Open a restaurant* form: Golden Dragon Kitchen Ltd, the
business the demo registers say she directs (``blueprints/demo/``).

One definition for every place that files the demo application without the portal's pages (the
GovStack registries fixture, the benchmarks, the tests), so a change to the form changes them all.
A place that needs another answer derives it in view: ``{**RESTAURANT_ANSWERS, "seating": 60}``.
Read-only, so no caller can change what the next one files.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

RESTAURANT_ANSWERS: Mapping[str, Any] = MappingProxyType(
    {
        "business_registration_number": "BR-2019-004211",
        "business_name": "Golden Dragon Kitchen Ltd",
        "director_name": "Alice Chen",
        "parcel_id": "P-0042-117",
        "premises_address": "12 Harbour Street",
        "seating": 40,
        "grease_trap": True,
        "staff_count": 8,
        "cuisine": "chinese",
        "opening_date": "2099-03-01",
        "contact_email": "alice@example.org",
    }
)
