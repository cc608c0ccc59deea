"""Business register, land parcels and zoning: the operations SOAP and batch share."""

from __future__ import annotations

import hashlib
from typing import Any

from simulators.common.ledger import Ledger, utcnow
from simulators.common.seed import generated_businesses, load_seed

CAPABILITY_PREFIX = "local_admin."


class RegistryError(Exception):
    """A business refusal (not applied): ``code`` is refused, not_found or invalid."""

    def __init__(self, code: str, message: str) -> None:
        """Create the error."""
        super().__init__(message)
        self.code = code
        self.message = message


def reference(prefix: str, key: str) -> str:
    """Return a stable reference derived from an idempotency key."""
    return f"{prefix}-{hashlib.sha256(key.encode()).hexdigest()[:10].upper()}"


class LocalAdminRegistry:
    """Seeded registers; changes are persisted as ledger records."""

    def __init__(self, ledger: Ledger) -> None:
        """Load seed files and generated businesses."""
        self.ledger = ledger
        self.businesses: dict[str, dict[str, Any]] = {
            b["registration_number"]: b for b in generated_businesses()
        }
        for b in load_seed("simulators.local_admin", "businesses.json")["businesses"]:
            self.businesses[b["registration_number"]] = dict(b)
        land = load_seed("simulators.local_admin", "parcels.json")
        self.zones: dict[str, list[str]] = {z: v["allowed"] for z, v in land["zones"].items()}
        self.parcels: dict[str, dict[str, Any]] = {p["parcel_id"]: p for p in land["parcels"]}

    def lookup_business(self, registration_number: str) -> dict[str, Any]:
        """Return a business (with any address change applied) or raise not_found."""
        base = self.businesses.get(registration_number)
        if base is None:
            raise RegistryError("not_found", f"business {registration_number} not registered")
        out = dict(base)
        changed = self.ledger.get_record("local_admin.address", registration_number)
        if changed is not None:
            out["registered_address"] = changed["address"]
            out["parcel_id"] = changed["parcel_id"]
        return out

    def lookup_parcel(self, parcel_id: str) -> dict[str, Any]:
        """Return a parcel's id, zone and address from the land-parcel register, or not_found."""
        parcel = self.parcels.get(parcel_id)
        if parcel is None:
            raise RegistryError("not_found", f"parcel {parcel_id} not found")
        return {"parcel_id": parcel_id, "zone": parcel["zone"], "address": parcel["address"]}

    def check_zoning(self, parcel_id: str, activity: str) -> dict[str, Any]:
        """Return zone, allowed and reason for an activity on a parcel."""
        parcel = self.parcels.get(parcel_id)
        if parcel is None:
            return {"zone": "unknown", "allowed": False, "reason": f"parcel {parcel_id} not found"}
        zone = parcel["zone"]
        allowed = activity in self.zones.get(zone, [])
        verb = "permitted" if allowed else "not permitted"
        return {"zone": zone, "allowed": allowed, "reason": f"{activity} is {verb} in zone {zone}"}

    def register_activity(
        self, key: str, registration_number: str, parcel_id: str, activity: str
    ) -> dict[str, Any]:
        """Register an activity at a parcel (effect) or raise a refusal."""
        self.lookup_business(registration_number)
        zoning = self.check_zoning(parcel_id, activity)
        if not zoning["allowed"]:
            raise RegistryError("refused", zoning["reason"])
        ref = reference("LA-ACT", key)
        self.ledger.put_record(
            "local_admin.activity",
            ref,
            {
                "registration_number": registration_number,
                "parcel_id": parcel_id,
                "activity": activity,
                "registered_at": utcnow(),
            },
        )
        return {"reference": ref, "message": zoning["reason"]}

    def update_address(
        self, key: str, registration_number: str, parcel_id: str, new_address: str
    ) -> dict[str, Any]:
        """Change a business's registered address (effect) or raise."""
        self.lookup_business(registration_number)
        if parcel_id not in self.parcels:
            raise RegistryError("not_found", f"parcel {parcel_id} not found")
        if not new_address.strip():
            raise RegistryError("invalid", "new_address is empty")
        self.ledger.put_record(
            "local_admin.address",
            registration_number,
            {"address": new_address, "parcel_id": parcel_id, "updated_at": utcnow()},
        )
        return {"reference": reference("LA-ADR", key), "message": "address updated"}
