"""Pure logic of the connectors: breaker, callback verification, gateway routing and checks."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from civicloom.connectors import (
    BreakerOpen,
    BreakerState,
    CallbackRejected,
    CircuitBreaker,
    ConnectorGateway,
    DepartmentIntegration,
    build_connectors,
    sign_callback,
    verify_callback,
)
from civicloom.connectors.base import ConnectorContext
from civicloom.connectors.filedrop.fileformat import (
    BadFile,
    IncompleteFile,
    parse,
    render,
    signature,
)
from civicloom.departments import (
    CallOutcome,
    CapabilityCall,
    CapabilityResult,
    ContractViolation,
    Department,
    HealthReport,
    PermanentError,
    TransientError,
)
from civicloom.kernel import ValidationFailed
from civicloom.settings import Profile, Settings

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
SECRET = "s3cret"


def test_breaker_cycle() -> None:
    """closed → open at the threshold → half-open after the wait (one trial) → closed."""
    now = [0.0]
    breaker = CircuitBreaker("tax", threshold=2, reset_seconds=5, clock=lambda: now[0])
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.snapshot().state is BreakerState.CLOSED
    breaker.record_failure()
    assert breaker.snapshot().state is BreakerState.OPEN
    assert not breaker.allow()
    now[0] = 6
    assert breaker.allow()  # the trial
    assert not breaker.allow()  # only one at a time
    breaker.record_failure()  # failed trial: open again
    assert breaker.snapshot().retry_in_seconds == 5
    now[0] = 12
    assert breaker.allow()
    breaker.record_success()
    assert breaker.snapshot() == breaker.snapshot().__class__("tax", BreakerState.CLOSED, 0, None)


def _signed(
    body: dict[str, Any], secret: str = SECRET, at: datetime = NOW
) -> tuple[dict[str, str], bytes]:
    raw = json.dumps(body, separators=(",", ":")).encode()
    ts = str(int(at.timestamp()))
    return {
        "X-Civicloom-Timestamp": ts,
        "X-Civicloom-Signature": sign_callback(secret, ts, raw),
    }, raw


def test_verify_callback_accepts_and_rejects() -> None:
    """Good → completion without the key field; each misuse → a named reason."""
    headers, raw = _signed({"idempotency_key": "k1", "outcome": "cleared"})
    verified = verify_callback(headers, raw, NOW, secret="s3cret", department="environment")
    assert verified.completion.idempotency_key == "k1"
    assert verified.completion.output == {"outcome": "cleared"}
    cases = {
        "bad-signature": (headers, raw + b" "),
        "unsigned": ({}, raw),
        "stale": _signed({"idempotency_key": "k1"}, at=NOW - timedelta(hours=1)),
        "malformed": _signed({"outcome": "cleared"}),
    }
    for reason, (h, body) in cases.items():
        with pytest.raises(CallbackRejected) as info:
            verify_callback(h, body, NOW, secret="s3cret", department="environment")
        assert info.value.reason == reason


def test_batch_file_format() -> None:
    """Signature trailer round trip; tampering, missing trailer and short rows are detected."""
    header = ["idempotency_key", "status"]
    data = render(header, [{"idempotency_key": "a", "status": "ok"}], "batch-secret")
    assert data.endswith(b"\n")
    assert b"\n#hmac-sha256=" in data
    assert parse(data, header, "batch-secret") == ([{"idempotency_key": "a", "status": "ok"}], [])
    with pytest.raises(BadFile, match="signature"):
        parse(data.replace(b"ok", b"no"), header, "batch-secret")
    with pytest.raises(IncompleteFile):
        parse(b"idempotency_key,status\na,ok\n", header, "batch-secret")
    body = b"idempotency_key,status\na,ok\nb\n"
    short = body + b"#hmac-sha256=" + signature("batch-secret", body).encode() + b"\n"
    rows, bad = parse(short, header, "batch-secret")
    assert (len(rows), len(bad)) == (1, 1)


def test_a_batch_file_without_the_departments_key_is_refused() -> None:
    """Anyone who can write to the exchange can compute a SHA-256 but not the HMAC (ADR 0032)."""
    header = ["idempotency_key", "status"]
    body = b"idempotency_key,status\nkey-1,ok\n"
    unkeyed = body + f"#sha256={hashlib.sha256(body).hexdigest()}\n".encode()
    with pytest.raises(BadFile, match="unsigned"):
        parse(unkeyed, header, "batch-secret")
    other_key = render(header, [{"idempotency_key": "key-1", "status": "ok"}], "another-secret")
    with pytest.raises(BadFile, match="signature mismatch"):
        parse(other_key, header, "batch-secret")
    with pytest.raises(BadFile, match="no batch secret"):
        parse(other_key, header, "")
    with pytest.raises(ValueError, match="batch secret"):
        render(header, [], "")


def department(**connector: Any) -> Department:
    """A test department with one capability."""
    return Department.model_validate(
        {
            "id": "demo",
            "name": {"en": "Demo", "zh-Hans": "演示"},
            "system": "modern",
            "connector": connector or {"kind": "fake"},
            "capabilities": [
                {
                    "id": "demo.echo",
                    "input_schema": {"type": "object", "required": ["n"]},
                    "output_schema": {"type": "object", "required": ["n"]},
                }
            ],
        }
    )


class FakeConnector:
    """Answers from a script: a result or an exception per call."""

    kind = "fake"

    def __init__(self, ctx: ConnectorContext) -> None:
        self.script: list[Any] = []

    async def call(self, call: CapabilityCall) -> CapabilityResult:
        """Play the next scripted answer."""
        item = self.script.pop(0)
        if isinstance(item, BaseException):
            raise item
        assert isinstance(item, CapabilityResult)
        return item

    async def check(self) -> HealthReport:
        """Always healthy."""
        return HealthReport("demo", self.kind, True, "ok", 0.0)

    async def close(self) -> None:
        """Nothing to close."""


def gateway(tmp_path: Path) -> tuple[ConnectorGateway, FakeConnector]:
    """A gateway over one fake connector."""
    settings = Settings(profile=Profile.TEST, var_dir=tmp_path)
    registry = build_connectors([department()], settings, plugins={"fake": FakeConnector})
    fake = registry.connector("demo")
    assert isinstance(fake, FakeConnector)
    return ConnectorGateway(registry, failure_threshold=1, reset_seconds=60), fake


async def test_gateway_contracts_and_failures(tmp_path: Path) -> None:
    """Input and output contract breaks, a crashing connector and an open breaker."""
    gw, fake = gateway(tmp_path)
    echo = CapabilityCall("demo", "demo.echo", {"n": 1}, "k")
    with pytest.raises(ContractViolation, match=r"input of demo\.echo"):
        await gw.call(CapabilityCall("demo", "demo.echo", {}, "k"))
    fake.script = [CapabilityResult(CallOutcome.COMPLETED, {"x": 1})]
    with pytest.raises(ContractViolation, match=r"output of demo\.echo"):
        await gw.call(echo)
    fake.script = [PermanentError("no"), RuntimeError("bug")]
    with pytest.raises(PermanentError):
        await gw.call(echo)
    with pytest.raises(TransientError, match="connector error RuntimeError"):
        await gw.call(echo)
    fake.script = [TransientError("down")]
    with pytest.raises(TransientError):
        await gw.call(echo)
    with pytest.raises(BreakerOpen):
        await gw.call(echo)
    with pytest.raises(PermanentError, match="unknown department"):
        await gw.call(CapabilityCall("nope", "nope.x", {}, "k"))


def test_definition_errors_name_the_field(tmp_path: Path) -> None:
    """Bad options and badly named capabilities are ValidationFailed with the field."""
    bad = department(kind="rest", options={"retries": 99})
    with pytest.raises(ValidationFailed) as info:
        build_connectors([bad], Settings(profile=Profile.TEST, var_dir=tmp_path))
    assert info.value.errors[0].field == "demo:connector.options.retries"
    misnamed = department().model_copy(
        update={"capabilities": [{"id": "other.x", "input_schema": {}, "output_schema": {}}]}
    )
    with pytest.raises(ValidationFailed) as info:
        DepartmentIntegration.of(misnamed)
    assert info.value.errors[0].rule == "prefix"


def test_production_refuses_missing_secrets(tmp_path: Path) -> None:
    """No dev placeholder secret in production: the callback connector cannot be built."""
    dept = department(kind="callback", options={"callback_secret": "environment.callback"})
    # Only the profile matters here; copying skips the other production checks.
    settings = Settings(profile=Profile.TEST, var_dir=tmp_path).model_copy(
        update={"profile": Profile.PRODUCTION}
    )
    with pytest.raises(ValidationFailed, match=r"environment\.callback"):
        build_connectors([dept], settings)
    embedded = Settings(profile=Profile.TEST, var_dir=tmp_path)
    assert build_connectors([dept], embedded).callback_verifiers()["demo"].secret
