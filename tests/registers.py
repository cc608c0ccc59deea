"""The business register, as the Local Administration simulator holds it, for tests that do not
run the simulator as a process (ADR 0041). System tests ask the real SOAP simulator instead.

``SeedRegister`` wraps a gateway: it answers the representation checks (``verify_acting_for``'s
reads, idempotency key ``representation:…``) from the simulator's own seed, and passes every
other call through untouched, so engine steps behave as before.
"""

from __future__ import annotations

from typing import Any

from civicloom.departments import (
    CallOutcome,
    CapabilityCall,
    CapabilityGateway,
    CapabilityResult,
    PermanentError,
)
from civicloom.identity import ActingFor
from civicloom.kernel import Principal
from civicloom.registries import verify_acting_for
from civicloom.runtime import Container
from simulators.common.seed import generated_businesses, load_seed

BUSINESS_LOOKUP = "local-admin.business_lookup"


def seed_businesses() -> dict[str, dict[str, Any]]:
    """The simulator's business register: its seed file plus the generated businesses."""
    seeded = load_seed("simulators.local_admin", "businesses.json")
    rows = seeded["businesses"] if isinstance(seeded, dict) else seeded
    out = {b["registration_number"]: b for b in generated_businesses()}
    out.update({b["registration_number"]: b for b in rows})
    return out


class SeedRegister:
    """A gateway whose representation reads the seeded business register answers."""

    def __init__(self, inner: CapabilityGateway | None = None) -> None:
        self.inner = inner
        self.businesses = seed_businesses()
        self.calls: list[CapabilityCall] = []

    async def call(self, call: CapabilityCall) -> CapabilityResult:
        """Answer a representation read; pass anything else to the wrapped gateway."""
        if call.capability == BUSINESS_LOOKUP and call.idempotency_key.startswith(
            "representation:"
        ):
            self.calls.append(call)
            found = self.businesses.get(str(call.input.get("registration_number")))
            if found is None:
                raise PermanentError("local-admin SOAP fault Client.NotFound: not registered")
            keys = ("name", "status", "director_name", "director_person_id", "registered_address")
            return CapabilityResult(CallOutcome.COMPLETED, {k: found.get(k) for k in keys})
        if self.inner is None:
            raise PermanentError(f"unknown capability {call.capability!r}")
        return await self.inner.call(call)


async def verified(
    container: Container, who: Principal, number: str, service: str = "open-a-restaurant"
) -> ActingFor:
    """The real gate's verdict for ``who`` and ``number`` (for building test worlds)."""
    return await verify_acting_for(
        container.uow, SeedRegister(), container.clock, who, number, service
    )
