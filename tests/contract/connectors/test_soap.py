"""SOAP connector against the local-admin simulator's WSDL: answers, faults, contract breaks."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from civicloom.departments import (
    CallOutcome,
    CapabilityCall,
    ContractViolation,
    PermanentError,
    TransientError,
)
from tests.contract.connectors.conftest import gateway_of, make_settings
from tests.simulators.harness import SimProcess, free_port

ACTIVITY = {"registration_number": "BR-2019-004211", "parcel_id": "P-0042-117"}


def call(capability: str, data: dict[str, Any], key: str) -> CapabilityCall:
    """A local-admin call."""
    return CapabilityCall("local-admin", capability, data, key, traceparent=None)


@pytest.fixture
def sim(local_admin_sim: SimProcess) -> SimProcess:
    """A reset local-admin simulator."""
    local_admin_sim.reset()
    return local_admin_sim


@pytest.fixture
def gateway(sim: SimProcess, registry_factory: Any, tmp_path: Path) -> Any:
    """A gateway reaching local-admin over SOAP."""
    return gateway_of(registry_factory(make_settings(tmp_path), {"local_admin": sim.url}))


async def test_register_activity_exactly_once(gateway: Any, sim: SimProcess) -> None:
    """The key travels in the SOAP body: two calls, one effect, the same reference."""
    data = {**ACTIVITY, "activity": "restaurant"}
    first = await gateway.call(call("local-admin.register_activity", data, "la-1"))
    second = await gateway.call(call("local-admin.register_activity", data, "la-1"))
    assert first.outcome is CallOutcome.COMPLETED
    assert first.output["reference"].startswith("LA-ACT-")
    assert first.output == second.output
    assert first.external_reference == first.output["reference"]
    entry = sim.ledger_entry("la-1")
    assert entry is not None
    assert (entry["applied"], entry["received"]) == (1, 2)


async def test_lookups_return_structures(gateway: Any) -> None:
    """Complex SOAP results become plain dicts matching the output schema."""
    business = await gateway.call(
        call("local-admin.business_lookup", {"registration_number": "BR-2019-004211"}, "q-1")
    )
    assert business.output["director_name"] == "Alice Chen"
    zoning = await gateway.call(
        call("local-admin.zoning_check", {"parcel_id": "P-0042-305", "activity": "restaurant"}, "q")
    )
    assert (zoning.output["zone"], zoning.output["allowed"]) == ("residential", False)


async def test_client_faults_are_permanent(gateway: Any, sim: SimProcess) -> None:
    """Zoning refused (Client.Refused) and unknown business (Client.NotFound) → PermanentError."""
    refused = {**ACTIVITY, "parcel_id": "P-0042-305", "activity": "restaurant"}
    with pytest.raises(PermanentError, match=r"Client\.Refused"):
        await gateway.call(call("local-admin.register_activity", refused, "la-2"))
    assert sim.ledger_entry("la-2") is None
    with pytest.raises(PermanentError, match="NotFound"):
        await gateway.call(
            call("local-admin.business_lookup", {"registration_number": "BR-1999-000001"}, "q-2")
        )


async def test_server_faults_are_transient(gateway: Any, sim: SimProcess) -> None:
    """down / error_rate → SOAP fault Server.Unavailable → TransientError, nothing applied."""
    sim.set_faults(down=True)
    with pytest.raises(TransientError, match=r"Server\.Unavailable"):
        await gateway.call(
            call("local-admin.register_activity", {**ACTIVITY, "activity": "restaurant"}, "la-3")
        )
    assert sim.ledger_entry("la-3") is None


async def test_malformed_answers_break_the_contract(gateway: Any, sim: SimProcess) -> None:
    """A ZoningResult with only `zone`, an empty reference: ContractViolation, not a crash."""
    sim.set_faults(malformed_rate=1.0)
    with pytest.raises(ContractViolation, match="'allowed' is a required property"):
        await gateway.call(
            call("local-admin.zoning_check", {"parcel_id": "P-0042-117", "activity": "cafe"}, "m")
        )
    with pytest.raises(ContractViolation, match="reference"):
        await gateway.call(
            call("local-admin.register_activity", {**ACTIVITY, "activity": "restaurant"}, "la-4")
        )


async def test_timeout_and_connection_refused(
    sim: SimProcess, registry_factory: Any, tmp_path: Path
) -> None:
    """A hanging service and a closed port are both TransientError, within our timeout."""
    settings = make_settings(tmp_path)
    registry = registry_factory(
        settings, {"local_admin": sim.url}, local_admin={"timeout_seconds": 0.5}
    )
    gateway = gateway_of(registry)
    await gateway.call(
        call("local-admin.zoning_check", {"parcel_id": "P-0042-117", "activity": "x"}, "w")
    )
    sim.set_faults(timeout_rate=1.0, timeout_ms=3000)
    started = time.monotonic()
    with pytest.raises(TransientError):
        await gateway.call(
            call("local-admin.zoning_check", {"parcel_id": "P-0042-117", "activity": "x"}, "t")
        )
    assert time.monotonic() - started < 2.5
    sim.set_faults()
    closed = gateway_of(
        registry_factory(settings, {"local_admin": f"http://127.0.0.1:{free_port()}"})
    )
    with pytest.raises(TransientError):
        await closed.call(
            call("local-admin.zoning_check", {"parcel_id": "P-0042-117", "activity": "x"}, "c")
        )
    reports = {(r.department, r.kind): r for r in await closed.check_all()}
    assert reports[("local-admin", "soap")].healthy is False
    healthy = {(r.department, r.kind): r for r in await gateway.check_all()}
    assert healthy[("local-admin", "soap")].healthy is True
