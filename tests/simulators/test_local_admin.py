"""Local-admin simulator: SOAP via zeep against the live WSDL, and the batch file exchange."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import zeep
from zeep.exceptions import Fault

from simulators.local_admin.batchfile import (
    REQUEST_HEADER,
    RESPONSE_HEADER,
    parse_csv,
    render_csv,
    with_trailer,
    write_atomic,
)
from tests.simulators.harness import SimProcess, start_sim, wait_for

GOLDEN = "BR-2019-004211"
BATCH_SECRET = "simulator-test-batch-secret"


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProcess]:
    """A local-admin simulator with a batch exchange polled every 100 ms."""
    work = tmp_path_factory.mktemp("local_admin")
    proc = start_sim(
        "local_admin",
        work,
        "--exchange-dir",
        str(work / "exchange"),
        "--batch-interval",
        "0.1",
        "--batch-secret",
        BATCH_SECRET,
    )
    yield proc
    proc.stop()


@pytest.fixture
def exchange(sim: SimProcess) -> Path:
    """The exchange root of a freshly reset simulator."""
    sim.reset()
    return Path(sim.args[1])


@pytest.fixture(scope="module")
def soap(sim: SimProcess) -> zeep.Client:
    """A zeep client built from the live WSDL."""
    return zeep.Client(f"{sim.url}/soap?wsdl")  # type: ignore[no-untyped-call]


def test_soap_lookup_and_zoning(soap: zeep.Client, sim: SimProcess) -> None:
    """Seeded business and parcels answer as in the demo world."""
    sim.reset()
    business = soap.service.LookupBusiness(registration_number=GOLDEN)
    assert business.name == "Golden Dragon Kitchen Ltd"
    assert (business.director_name, business.director_person_id) == ("Alice Chen", "alice")
    assert soap.service.LookupBusiness("BR-2020-000123").status == "active"
    ok = soap.service.CheckZoning(parcel_id="P-0042-117", activity="restaurant")
    assert (ok.zone, ok.allowed) == ("commercial", True)
    refused = soap.service.CheckZoning(parcel_id="P-0042-305", activity="restaurant")
    assert (refused.zone, refused.allowed) == ("residential", False)
    with pytest.raises(Fault) as err:
        soap.service.LookupBusiness("BR-0000-000000")
    assert "NotFound" in str(err.value.code)


def test_soap_parcel_lookup(soap: zeep.Client, sim: SimProcess) -> None:
    """The land-parcel register answers a parcel's zone and address; unknown is NotFound."""
    sim.reset()
    parcel = soap.service.LookupParcel(parcel_id="P-0042-117")
    assert (parcel.parcel_id, parcel.zone, parcel.address) == (
        "P-0042-117",
        "commercial",
        "117 Market Street, Riverton",
    )
    with pytest.raises(Fault) as err:
        soap.service.LookupParcel("P-9999-999")
    assert "NotFound" in str(err.value.code)


def test_soap_idempotent_effects(soap: zeep.Client, sim: SimProcess) -> None:
    """RegisterActivity twice with one key applies once; refusals are not applied."""
    sim.reset()
    first = soap.service.RegisterActivity("soap-1", GOLDEN, "P-0042-117", "restaurant")
    again = soap.service.RegisterActivity("soap-1", GOLDEN, "P-0042-117", "restaurant")
    assert first == again
    assert first.startswith("LA-ACT-")
    entry = sim.ledger_entry("soap-1")
    assert entry is not None
    assert (entry["applied"], entry["received"]) == (1, 2)
    with pytest.raises(Fault):
        soap.service.RegisterActivity("soap-2", GOLDEN, "P-0042-305", "restaurant")
    assert sim.ledger_entry("soap-2") is None
    ref = soap.service.UpdateBusinessAddress("soap-3", GOLDEN, "P-0042-200", "200 High Street")
    assert ref.startswith("LA-ADR-")
    assert soap.service.LookupBusiness(GOLDEN).registered_address == "200 High Street"


def test_soap_faults(soap: zeep.Client, sim: SimProcess) -> None:
    """error_rate=1 is a SOAP fault with nothing applied; malformed omits fields."""
    sim.reset()
    sim.set_faults(error_rate=1.0)
    with pytest.raises(Fault) as err:
        soap.service.RegisterActivity("soap-f", GOLDEN, "P-0042-117", "restaurant")
    assert "Unavailable" in str(err.value.code)
    assert sim.ledger_entry("soap-f") is None
    sim.set_faults(malformed_rate=1.0)
    assert soap.service.LookupBusiness(GOLDEN).name is None
    sim.set_faults()


def submit(
    exchange: Path, batch: str, rows: list[dict[str, str]], *, corrupt: bool = False
) -> None:
    """Write a request file atomically, as the platform does."""
    data = with_trailer(render_csv(REQUEST_HEADER, rows), BATCH_SECRET)
    if corrupt:
        data = data.replace(b"restaurant", b"restaurans", 1)
    write_atomic(exchange / "inbound" / f"REQ_{batch}.csv", data)


def row(key: str, op: str, parcel: str = "P-0042-117", **extra: str) -> dict[str, str]:
    """A request row for Golden Dragon."""
    base = {
        "idempotency_key": key,
        "operation": op,
        "registration_number": GOLDEN,
        "parcel_id": parcel,
        "activity": "restaurant",
        "new_address": "",
    }
    return {**base, **extra}


def responses(exchange: Path, batch: str, count: int) -> list[Path]:
    """Wait for ``count`` response files of a batch."""

    def found() -> list[Path]:
        files = sorted((exchange / "outbound").glob(f"RSP_{batch}*.csv"))
        return files if len(files) >= count else []

    files: list[Path] = wait_for(found, timeout=10)
    return files


def test_batch_round_trip_and_idempotency(exchange: Path, sim: SimProcess) -> None:
    """Rows are answered with a valid checksum; a resubmitted key replays its answer."""
    (exchange / "inbound" / "REQ_ignored.csv.tmp").write_bytes(b"half written")
    rows = [
        row("b1-zone", "check_zoning"),
        row("b1-reg", "register_activity"),
        row("b1-bad", "register_activity", parcel="P-0042-305"),
        row("b1-addr", "update_address", parcel="P-0042-200", new_address="200 High St"),
        row("b1-what", "fly_to_moon"),
    ]
    submit(exchange, "b1", rows)
    (rsp,) = responses(exchange, "b1", 1)
    answers = {
        a["idempotency_key"]: a for a in parse_csv(rsp.read_bytes(), RESPONSE_HEADER, BATCH_SECRET)
    }
    assert answers["b1-zone"]["status"] == "ok"
    assert answers["b1-reg"]["reference"].startswith("LA-ACT-")
    assert answers["b1-bad"]["status"] == "refused"
    assert answers["b1-addr"]["reference"].startswith("LA-ADR-")
    assert answers["b1-what"]["status"] == "error"
    assert (exchange / "archive" / "REQ_b1.csv").exists()
    assert (exchange / "inbound" / "REQ_ignored.csv.tmp").exists()
    submit(exchange, "b2", [row("b1-reg", "register_activity")])
    (rsp2,) = responses(exchange, "b2", 1)
    assert parse_csv(rsp2.read_bytes(), RESPONSE_HEADER, BATCH_SECRET)[0] == answers["b1-reg"]
    entry = sim.ledger_entry("b1-reg")
    assert entry is not None
    assert (entry["applied"], entry["received"]) == (1, 2)


def test_batch_bad_signature_rejected(exchange: Path) -> None:
    """A request whose signature fails goes to rejected/ with a .reason file."""
    submit(exchange, "b3", [row("b3-1", "check_zoning")], corrupt=True)
    reason = exchange / "rejected" / "REQ_b3.csv.reason"
    wait_for(reason.exists, timeout=10)
    assert reason.read_text() == "signature mismatch\n"
    assert not list((exchange / "outbound").glob("RSP_b3*"))


def test_batch_unkeyed_request_rejected(exchange: Path, sim: SimProcess) -> None:
    """An unkeyed SHA-256 trailer (anyone can compute it) is not a signature: rejected."""
    body = render_csv(REQUEST_HEADER, [row("b3-2", "register_activity")])
    unkeyed = body + f"#sha256={hashlib.sha256(body).hexdigest()}\n".encode()
    write_atomic(exchange / "inbound" / "REQ_b3u.csv", unkeyed)
    reason = exchange / "rejected" / "REQ_b3u.csv.reason"
    wait_for(reason.exists, timeout=10)
    assert reason.read_text() == "missing #hmac-sha256= trailer line\n"
    assert sim.ledger_entry("b3-2") is None


def test_batch_answers_are_signed_with_the_shared_key(exchange: Path) -> None:
    """The department's answers verify only under the batch key it shares with the platform."""
    submit(exchange, "b3s", [row("b3-3", "check_zoning")])
    (rsp,) = responses(exchange, "b3s", 1)
    with pytest.raises(ValueError, match="signature mismatch"):
        parse_csv(rsp.read_bytes(), RESPONSE_HEADER, "another-key")
    assert parse_csv(rsp.read_bytes(), RESPONSE_HEADER, BATCH_SECRET)[0]["status"] == "ok"


def test_batch_partial_and_duplicate(exchange: Path, sim: SimProcess) -> None:
    """partial_rate answers the rest later; duplicate_rate writes the same file twice."""
    sim.set_faults(partial_rate=1.0)
    submit(exchange, "b4", [row(f"b4-{i}", "check_zoning") for i in range(4)])
    first, second = responses(exchange, "b4", 2)
    keys = [
        a["idempotency_key"]
        for f in (first, second)
        for a in parse_csv(f.read_bytes(), RESPONSE_HEADER, BATCH_SECRET)
    ]
    assert sorted(keys) == [f"b4-{i}" for i in range(4)]
    assert len(parse_csv(first.read_bytes(), RESPONSE_HEADER, BATCH_SECRET)) == 2
    sim.set_faults(duplicate_rate=1.0)
    submit(exchange, "b5", [row("b5-1", "register_activity")])
    one, two = responses(exchange, "b5", 2)
    assert one.read_bytes() == two.read_bytes()
    assert {one.name, two.name} == {"RSP_b5.csv", "RSP_b5-2.csv"}
    sim.set_faults()


def test_batch_malformed_response_then_resubmit(exchange: Path, sim: SimProcess) -> None:
    """A malformed response file fails verification; resubmitting replays the answers."""
    sim.set_faults(malformed_rate=1.0)
    submit(exchange, "b6", [row("b6-1", "register_activity"), row("b6-2", "check_zoning")])
    (bad,) = responses(exchange, "b6", 1)
    with pytest.raises(ValueError, match=r"signature|fields"):
        parse_csv(bad.read_bytes(), RESPONSE_HEADER, BATCH_SECRET)
    sim.set_faults()
    submit(exchange, "b6", [row("b6-1", "register_activity"), row("b6-2", "check_zoning")])
    responses(exchange, "b6", 2)
    good = exchange / "outbound" / "RSP_b6-2.csv"
    answers = parse_csv(good.read_bytes(), RESPONSE_HEADER, BATCH_SECRET)
    expected = "LA-ACT-" + hashlib.sha256(b"b6-1").hexdigest()[:10].upper()
    assert answers[0]["reference"] == expected
    entry = sim.ledger_entry("b6-1")
    assert entry is not None
    assert (entry["applied"], entry["received"]) == (1, 2)
