"""Connector call timings and errors, recorded around any capability gateway."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from civicloom.connectors import InstrumentedGateway
from civicloom.departments import CapabilityCall, InProcessGateway, TransientError


async def test_calls_are_timed_and_failures_counted() -> None:
    async def ok(call: CapabilityCall) -> dict[str, Any]:
        return {"status": "cleared"}

    async def down(call: CapabilityCall) -> dict[str, Any]:
        raise TransientError("tax is down")

    registry = CollectorRegistry()
    gateway = InstrumentedGateway(
        InProcessGateway({"tax.clearance_check": ok, "tax.down": down}), registry
    )
    result = await gateway.call(CapabilityCall("tax", "tax.clearance_check", {}, "k1"))
    assert result.output == {"status": "cleared"}
    with pytest.raises(TransientError):
        await gateway.call(CapabilityCall("tax", "tax.down", {}, "k2"))
    count = registry.get_sample_value(
        "civicloom_connector_call_duration_seconds_count",
        {"department": "tax", "capability": "tax.clearance_check", "outcome": "completed"},
    )
    errors = registry.get_sample_value(
        "civicloom_connector_errors_total",
        {"department": "tax", "capability": "tax.down", "error": "TransientError"},
    )
    assert count == 1.0
    assert errors == 1.0
    assert gateway.functions is gateway.inner.functions  # type: ignore[attr-defined]
