"""REST connector against the tax simulator (and the labour REST twin): every failure mode."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from civicloom.connectors import BreakerOpen, BreakerState, RestConnector
from civicloom.departments import (
    CallOutcome,
    CapabilityCall,
    ContractViolation,
    PermanentError,
    TransientError,
)
from tests.contract.connectors.conftest import gateway_of, make_settings
from tests.simulators.harness import SimProcess, free_port, start_sim

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
GOLDEN = "BR-2019-004211"


def clearance(key: str, reg: str = GOLDEN, **kw: Any) -> CapabilityCall:
    """A tax clearance call."""
    return CapabilityCall("tax", "tax.clearance_check", {"registration_number": reg}, key, **kw)


@pytest.fixture
def tax(tax_sim: SimProcess) -> SimProcess:
    """A reset tax simulator."""
    tax_sim.reset()
    return tax_sim


async def test_clearance_exactly_once_with_traceparent(
    tax: SimProcess, registry_factory: Any, tmp_path: Path
) -> None:
    """Same key twice: same answer, applied once; key and traceparent reach the department."""
    gateway = gateway_of(registry_factory(make_settings(tmp_path), {"tax": tax.url}))
    first = await gateway.call(clearance("app1:task2", traceparent=TRACEPARENT))
    second = await gateway.call(clearance("app1:task2", traceparent=TRACEPARENT))
    assert first.outcome is CallOutcome.COMPLETED
    assert first.output["status"] == "cleared"
    assert first.output == second.output
    assert first.external_reference == first.output["certificate_number"]
    entry = tax.ledger_entry("app1:task2")
    assert entry is not None
    assert (entry["applied"], entry["received"]) == (1, 2)
    assert entry["traceparent"] == TRACEPARENT
    arrears = await gateway.call(clearance("app2:task2", "BR-2021-000666"))
    assert arrears.output["status"] == "arrears"


async def test_server_errors_are_transient_and_not_applied(
    tax: SimProcess, registry_factory: Any, tmp_path: Path
) -> None:
    """503 on every attempt → TransientError after the retries; nothing applied."""
    tax.set_faults(error_rate=1.0)
    gateway = gateway_of(registry_factory(make_settings(tmp_path), {"tax": tax.url}))
    with pytest.raises(TransientError, match="HTTP 503 after 2 attempt"):
        await gateway.call(clearance("err-1"))
    assert tax.ledger_entry("err-1") is None


async def test_retry_recovers_from_a_down_window(
    tax: SimProcess, registry_factory: Any, tmp_path: Path
) -> None:
    """A department down then back: the next call (same key) succeeds and applies once."""
    gateway = gateway_of(registry_factory(make_settings(tmp_path), {"tax": tax.url}))
    tax.set_faults(down=True)
    with pytest.raises(TransientError):
        await gateway.call(clearance("down-1"))
    tax.set_faults()
    result = await gateway.call(clearance("down-1"))
    assert result.output["status"] == "cleared"
    entry = tax.ledger_entry("down-1")
    assert entry is not None
    assert entry["applied"] == 1


async def test_timeout_is_transient(tax: SimProcess, registry_factory: Any, tmp_path: Path) -> None:
    """A hanging department → TransientError within our timeout, not the department's."""
    tax.set_faults(timeout_rate=1.0, timeout_ms=5000)
    registry = registry_factory(
        make_settings(tmp_path), {"tax": tax.url}, tax={"retries": 0, "timeout_seconds": 0.3}
    )
    started = time.monotonic()
    with pytest.raises(TransientError, match="timeout"):
        await gateway_of(registry).call(clearance("slow-1"))
    assert time.monotonic() - started < 2.0
    tax.set_faults()


async def test_connection_refused_is_transient(registry_factory: Any, tmp_path: Path) -> None:
    """Nobody listening → TransientError (unreachable)."""
    url = f"http://127.0.0.1:{free_port()}"
    gateway = gateway_of(registry_factory(make_settings(tmp_path), {"tax": url}))
    with pytest.raises(TransientError, match="unreachable"):
        await gateway.call(clearance("refused-1"))
    reports = {r.department: r for r in await gateway.check_all()}
    assert reports["tax"].healthy is False
    assert "ConnectError" in reports["tax"].detail


async def test_malformed_answer_is_a_contract_violation(
    tax: SimProcess, registry_factory: Any, tmp_path: Path
) -> None:
    """A 200 missing required fields → ContractViolation naming the fields; no crash."""
    tax.set_faults(malformed_rate=1.0)
    gateway = gateway_of(registry_factory(make_settings(tmp_path), {"tax": tax.url}))
    with pytest.raises(ContractViolation, match="'status' is a required property"):
        await gateway.call(clearance("bad-1"))


async def test_refusals_are_permanent(
    tax: SimProcess, registry_factory: Any, tmp_path: Path
) -> None:
    """404 for an unknown taxpayer → PermanentError; bad input never leaves the platform."""
    gateway = gateway_of(registry_factory(make_settings(tmp_path), {"tax": tax.url}))
    move = {"registration_number": "BR-1999-000000", "new_address": "1 Long Road"}
    with pytest.raises(PermanentError, match="HTTP 404"):
        await gateway.call(
            CapabilityCall("tax", "tax.update_address", {**move, "parcel_id": "P-0042-200"}, "k1")
        )
    with pytest.raises(ContractViolation, match=r"input of tax\.update_address.*parcel_id"):
        await gateway.call(CapabilityCall("tax", "tax.update_address", move, "k2"))
    with pytest.raises(PermanentError, match="no capability"):
        await gateway.call(CapabilityCall("tax", "tax.fly", {}, "k3"))
    looked = await gateway.call(
        CapabilityCall("tax", "tax.taxpayer_lookup", {"registration_number": GOLDEN}, "k4")
    )
    assert looked.output["standing"] == "good"


async def test_breaker_opens_then_half_opens(
    tax: SimProcess, registry_factory: Any, tmp_path: Path
) -> None:
    """Two transient failures open the breaker; calls then fail fast until a trial succeeds."""
    now = [0.0]
    registry = registry_factory(make_settings(tmp_path), {"tax": tax.url}, tax={"retries": 0})
    gateway = gateway_of(registry, failure_threshold=2, reset_seconds=10, clock=lambda: now[0])
    tax.set_faults(down=True)
    for key in ("b-1", "b-2"):
        with pytest.raises(TransientError):
            await gateway.call(clearance(key))
    assert gateway.breakers["tax"].snapshot().state is BreakerState.OPEN
    tax.set_faults()
    with pytest.raises(BreakerOpen):
        await gateway.call(clearance("b-3"))
    assert tax.ledger_entry("b-3") is None  # not attempted at all
    now[0] = 11.0
    states = {s.department: s.state for s in gateway.breaker_states()}
    assert states["tax"] is BreakerState.HALF_OPEN
    assert (await gateway.call(clearance("b-3"))).output["status"] == "cleared"
    assert gateway.breakers["tax"].snapshot().state is BreakerState.CLOSED


@pytest.fixture(scope="module")
def secured_tax(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A tax simulator that requires an API key and a bearer token."""
    sim = start_sim(
        "tax", tmp_path_factory.mktemp("tax-auth"), "--api-key", "k-123", "--bearer-token", "t-456"
    )
    yield sim
    sim.stop()


@pytest.mark.parametrize(
    "auth",
    [{"scheme": "api_key", "secret": "tax.api_key"}, {"scheme": "bearer", "secret": "tax.token"}],
)
async def test_auth_options(
    secured_tax: SimProcess,
    registry_factory: Any,
    tmp_path: Path,
    auth: dict[str, str],
) -> None:
    """One credential alone is refused (the simulator wants both): 401 → PermanentError."""
    settings = make_settings(
        tmp_path, connector_secrets={"tax.api_key": "k-123", "tax.token": "t-456"}
    )
    gateway = gateway_of(registry_factory(settings, {"tax": secured_tax.url}, tax={"auth": auth}))
    with pytest.raises(PermanentError, match="HTTP 401"):
        await gateway.call(clearance(f"auth-{auth['scheme']}"))
    assert secured_tax.ledger_entry(f"auth-{auth['scheme']}") is None


async def test_api_key_and_wrong_key(
    tmp_path: Path, registry_factory: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """With the right API key the call goes through; a wrong one is refused."""
    sim = start_sim("tax", tmp_path_factory.mktemp("tax-key"), "--api-key", "k-123")
    try:
        auth = {"scheme": "api_key", "secret": "tax.api_key"}
        good = make_settings(tmp_path, connector_secrets={"tax.api_key": "k-123"})
        bad = make_settings(tmp_path, connector_secrets={"tax.api_key": "nope"})
        ok = await gateway_of(registry_factory(good, {"tax": sim.url}, tax={"auth": auth})).call(
            clearance("key-1")
        )
        assert ok.output["status"] == "cleared"
        with pytest.raises(PermanentError, match="401"):
            await gateway_of(registry_factory(bad, {"tax": sim.url}, tax={"auth": auth})).call(
                clearance("key-2")
            )
    finally:
        sim.stop()


async def test_labour_rest_twin_in_embedded_profile(
    labour_rest_sim: SimProcess, registry_factory: Any, tmp_path: Path
) -> None:
    """No broker configured: labour is reached over REST, with the same capabilities."""
    registry = registry_factory(make_settings(tmp_path), {"labour": labour_rest_sim.url})
    assert isinstance(registry.connector("labour"), RestConnector)
    gateway = gateway_of(registry)
    body = {"registration_number": GOLDEN, "employer_name": "Golden Dragon", "staff_count": 12}
    result = await gateway.call(CapabilityCall("labour", "labour.register_employer", body, "l-1"))
    assert result.output["review_required"] is True
    assert result.external_reference == "EMP-2019-004211"
    moved = await gateway.call(
        CapabilityCall(
            "labour",
            "labour.update_employer_address",
            {"registration_number": GOLDEN, "new_address": "200 High Street"},
            "l-2",
        )
    )
    assert moved.output["address"] == "200 High Street"


@pytest.fixture(scope="module")
def labour_rest_sim(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The labour simulator without a broker (REST twin only)."""
    sim = start_sim(
        "labour", tmp_path_factory.mktemp("labour-rest"), env={"SIM_LABOUR_AMQP_URL": ""}
    )
    yield sim
    sim.stop()
