"""File exchange against the local-admin batch simulator: signed request files out, signed
response files in — partial, duplicated, late, damaged and forged ones included."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest

from civicloom.connectors import FileDropConnector
from civicloom.connectors.filedrop.fileformat import render
from civicloom.departments import CallOutcome, CapabilityCall, ExternalCompletion
from tests.contract.connectors.conftest import make_settings
from tests.simulators.harness import SimProcess

MOVE = {
    "registration_number": "BR-2020-000001",
    "parcel_id": "P-0042-200",
    "new_address": "200 High Street",
}


def move(key: str) -> CapabilityCall:
    """An address change for the nightly batch."""
    return CapabilityCall("local-admin", "local-admin.update_business_address", MOVE, key)


def zoning(key: str, parcel: str) -> CapabilityCall:
    """A zoning check for the nightly batch."""
    data = {"parcel_id": parcel, "activity": "restaurant"}
    return CapabilityCall("local-admin", "local-admin.zoning_check", data, key)


@pytest.fixture
def sim(local_admin_sim: SimProcess) -> SimProcess:
    """A reset local-admin simulator (its batch loop polls every 0.1 s)."""
    local_admin_sim.reset()
    return local_admin_sim


@pytest.fixture
def batch(
    sim: SimProcess, exchange_dir: Path, registry_factory: Any, tmp_path: Path
) -> FileDropConnector:
    """The batch connector on the simulator's exchange directory."""
    registry = registry_factory(
        make_settings(tmp_path),
        {"local_admin": sim.url},
        local_admin__batch={"directory": str(exchange_dir), "incomplete_grace_seconds": 0.5},
    )
    connector = registry.connector("local-admin", "batch")
    assert isinstance(connector, FileDropConnector)
    return connector


SEEN: dict[int, set[str]] = {}


async def poll(batch: FileDropConnector) -> list[ExternalCompletion]:
    """What the worker's collector does, with an in-memory seen-set standing in for the
    database one: read the waiting answer files, take new keys, acknowledge the files."""
    seen = SEEN.setdefault(id(batch), set())
    found: list[ExternalCompletion] = []
    for answer_file in await batch.read_answers():
        for completion in answer_file.answers:
            if completion.idempotency_key not in seen:
                seen.add(completion.idempotency_key)
                found.append(completion)
        batch.acknowledge(answer_file)
    return found


async def collect(
    batch: FileDropConnector, keys: set[str], within: float = 10.0
) -> dict[str, ExternalCompletion]:
    """Poll until every key is answered (deadline, no fixed sleeps)."""
    found: dict[str, ExternalCompletion] = {}
    deadline = time.monotonic() + within
    while not keys <= set(found):
        assert time.monotonic() < deadline, f"missing answers for {keys - set(found)}"
        for completion in await poll(batch):
            assert completion.idempotency_key not in found, "answer handed over twice"
            found[completion.idempotency_key] = completion
        await asyncio.sleep(0.05)
    return found


async def test_batch_round_trip_exactly_once(batch: FileDropConnector, sim: SimProcess) -> None:
    """ACCEPTED now, answered by file later; a resubmission is replayed and not handed twice."""
    result = await batch.call(move("fd-1"))
    assert result.outcome is CallOutcome.ACCEPTED
    assert result.external_reference
    request = batch.inbound / f"REQ_{result.external_reference}.csv"
    assert request.exists() or sim.ledger_entry("fd-1") is not None
    answers = await collect(batch, {"fd-1"})
    assert answers["fd-1"].output["status"] == "ok"
    assert answers["fd-1"].output["reference"].startswith("LA-ADR-")
    await batch.call(move("fd-1"))  # the engine retried: same key, same batch name
    deadline = time.monotonic() + 5
    while (entry := sim.ledger_entry("fd-1")) is None or entry["received"] < 2:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    assert entry["applied"] == 1
    await asyncio.sleep(0.3)
    assert await poll(batch) == []  # the replayed answer is a duplicate


async def test_zoning_answers_are_shaped_like_the_capability(batch: FileDropConnector) -> None:
    """Renamed columns and the status flag make batch rows match the SOAP output schema."""
    await batch.submit([zoning("fd-z1", "P-0042-117"), zoning("fd-z2", "P-0042-305")])
    answers = await collect(batch, {"fd-z1", "fd-z2"})
    assert answers["fd-z1"].output["allowed"] is True
    assert answers["fd-z1"].output["zone"] == "commercial"
    assert answers["fd-z2"].output["allowed"] is False
    assert "not permitted" in str(answers["fd-z2"].output["reason"])


async def test_partial_and_duplicated_files(batch: FileDropConnector, sim: SimProcess) -> None:
    """Half the rows now, half later, every file twice: each key handed over once."""
    sim.set_faults(partial_rate=1.0, duplicate_rate=1.0)
    await batch.submit([zoning(f"fd-p{i}", "P-0042-117") for i in range(4)])
    answers = await collect(batch, {f"fd-p{i}" for i in range(4)})
    assert len(answers) == 4
    sim.set_faults()


async def test_damaged_files_are_quarantined_and_resubmission_recovers(
    batch: FileDropConnector, sim: SimProcess
) -> None:
    """A bad checksum or a truncated row never becomes an answer; resubmitting replays it."""
    sim.set_faults(malformed_rate=1.0)
    calls = [zoning("fd-m1", "P-0042-117"), zoning("fd-m2", "P-0042-200")]
    await batch.submit(calls)
    deadline = time.monotonic() + 5
    while sim.ledger_entry("fd-m2") is None:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    got: list[ExternalCompletion] = []
    deadline = time.monotonic() + 3
    while not list((batch.root / "consumed").glob("RSP_*")) and not list(
        (batch.root / "quarantine").glob("RSP_*.reason")
    ):
        assert time.monotonic() < deadline
        got += await poll(batch)
        await asyncio.sleep(0.05)
    assert "fd-m2" not in {c.idempotency_key for c in got}  # the damaged row is never trusted
    sim.set_faults()
    await batch.submit(calls)  # the engine's retry: same keys, replayed by the department
    answers = await collect(batch, {"fd-m1", "fd-m2"} - {c.idempotency_key for c in got})
    for completion in [*got, *answers.values()]:
        assert completion.output["status"] == "ok"


async def test_incomplete_file_waits_then_quarantines(batch: FileDropConnector) -> None:
    """A file without its trailer may still be growing: skipped, then quarantined when old."""
    batch.outbound.mkdir(parents=True, exist_ok=True)
    growing = batch.outbound / "RSP_handwritten.csv"
    growing.write_bytes(b"idempotency_key,status,reference,message\nfd-h1,ok,X,\n")
    assert await poll(batch) == []
    assert growing.exists()
    old = time.time() - 60
    os.utime(growing, (old, old))
    assert await poll(batch) == []
    assert not growing.exists()
    reason = (batch.root / "quarantine" / "RSP_handwritten.csv.reason").read_text()
    assert "trailer" in reason


async def test_check_reports_a_department_not_collecting(
    registry_factory: Any, tmp_path: Path
) -> None:
    """Request files left uncollected past the limit make the probe unhealthy."""
    root = tmp_path / "exchange"
    registry = registry_factory(
        make_settings(tmp_path),
        {},
        local_admin__batch={"directory": str(root), "stale_after_seconds": 1},
    )
    connector = registry.connector("local-admin", "batch")
    assert not (await connector.check()).healthy  # no exchange directory yet
    await connector.call(move("fd-s1"))
    assert (await connector.check()).healthy
    request = next((root / "inbound").glob("REQ_*.csv"))
    old = time.time() - 60
    os.utime(request, (old, old))
    report = await connector.check()
    assert not report.healthy
    assert "1 stale" in report.detail


async def test_forged_answer_files_are_never_read(
    batch: FileDropConnector, sim: SimProcess
) -> None:
    """Whoever can write to the exchange but lacks the department's batch key forges nothing:
    an unkeyed SHA-256 trailer or another key's signature is quarantined unread (ADR 0032)."""
    import hashlib

    header = batch.options.response_columns
    batch.outbound.mkdir(parents=True, exist_ok=True)
    body = b"idempotency_key,status,reference,message\nfd-f1,ok,LA-ADR-FORGED,\n"
    unkeyed = body + f"#sha256={hashlib.sha256(body).hexdigest()}\n".encode()
    (batch.outbound / "RSP_forged1.csv").write_bytes(unkeyed)
    row = {"idempotency_key": "fd-f1", "status": "ok", "reference": "LA-ADR-FORGED", "message": ""}
    (batch.outbound / "RSP_forged2.csv").write_bytes(render(header, [row], "a-guessed-key"))
    assert await poll(batch) == []
    reasons = {
        p.name: p.read_text().strip()
        for p in (batch.root / "quarantine").glob("RSP_forged*.reason")
    }
    assert reasons == {
        "RSP_forged1.csv.reason": "unsigned: an unkeyed #sha256= trailer is not accepted",
        "RSP_forged2.csv.reason": (
            "signature mismatch: not signed with the department's batch secret"
        ),
    }
    # the key was not spent: the department's own signed answer is still taken
    await batch.call(move("fd-f1"))
    answers = await collect(batch, {"fd-f1"})
    assert answers["fd-f1"].output["reference"].startswith("LA-ADR-")
    assert answers["fd-f1"].output["reference"] != "LA-ADR-FORGED"


async def test_the_department_refuses_unsigned_requests(
    batch: FileDropConnector, sim: SimProcess
) -> None:
    """A request file not signed with the shared key is rejected by the department unapplied."""
    row = {"idempotency_key": "fd-r1", "operation": "update_address", **MOVE}
    batch.inbound.mkdir(parents=True, exist_ok=True)
    forged = render(batch.options.request_columns, [row], "not-the-batch-key")
    (batch.inbound / "REQ_forged.csv").write_bytes(forged)
    reason = batch.root / "rejected" / "REQ_forged.csv.reason"
    deadline = time.monotonic() + 5
    while not reason.exists():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    assert "signature" in reason.read_text()
    assert sim.ledger_entry("fd-r1") is None
