"""Tax simulator: REST contract, idempotency, faults, auth, traceparent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.simulators.harness import SimProcess, start_sim, wait_for

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture(scope="module")
def tax(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProcess]:
    """A tax simulator without auth."""
    sim = start_sim("tax", tmp_path_factory.mktemp("tax"))
    yield sim
    sim.stop()


@pytest.fixture
def client(tax: SimProcess) -> Iterator[httpx.Client]:
    """A client against a freshly reset simulator."""
    tax.reset()
    with httpx.Client(base_url=tax.url, timeout=10) as c:
        yield c


def test_seeded_taxpayers(client: httpx.Client) -> None:
    """Golden Dragon is in good standing, Rusty Spoon in arrears, generated ones exist."""
    gd = client.get("/api/v1/taxpayers/BR-2019-004211").json()
    assert gd["name"] == "Golden Dragon Kitchen Ltd"
    assert gd["standing"] == "good"
    assert client.get("/api/v1/taxpayers/BR-2021-000666").json()["standing"] == "arrears"
    assert client.get("/api/v1/taxpayers/BR-2020-000300").status_code == 200
    assert client.get("/api/v1/taxpayers/BR-0000-000000").status_code == 404


def test_clearance_outcomes(client: httpx.Client) -> None:
    """Cleared with a certificate, arrears without, unknown for a stranger."""

    def check(reg: str, key: str) -> dict[str, object]:
        resp = client.post(
            "/api/v1/clearance-checks",
            json={"registration_number": reg},
            headers={"Idempotency-Key": key},
        )
        assert resp.status_code == 200
        body: dict[str, object] = resp.json()
        return body

    ok = check("BR-2019-004211", "k-ok")
    assert ok["status"] == "cleared"
    assert str(ok["certificate_number"]).startswith("TCC-")
    arrears = check("BR-2021-000666", "k-arrears")
    assert arrears == {**arrears, "status": "arrears", "certificate_number": None}
    assert check("BR-9999-999999", "k-unknown")["status"] == "unknown"


def test_idempotency_key_required(client: httpx.Client) -> None:
    """A missing Idempotency-Key is a 400 problem."""
    resp = client.post("/api/v1/clearance-checks", json={"registration_number": "BR-2019-004211"})
    assert resp.status_code == 400
    assert resp.headers["content-type"].startswith("application/problem+json")


def test_idempotent_replay_and_traceparent(client: httpx.Client, tax: SimProcess) -> None:
    """Same key twice: applied once, received twice, same body; traceparent echoed and recorded."""
    headers = {"Idempotency-Key": "addr-1", "traceparent": TRACEPARENT}
    body = {"new_address": "1 New Street, Riverton", "parcel_id": "P-0042-117"}
    url = "/api/v1/taxpayers/BR-2019-004211/address-changes"
    first = client.post(url, json=body, headers=headers)
    second = client.post(url, json={**body, "new_address": "ignored"}, headers=headers)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert first.headers["traceparent"] == TRACEPARENT
    entry = tax.ledger_entry("addr-1")
    assert entry is not None
    assert (entry["applied"], entry["received"]) == (1, 2)
    assert entry["capability"] == "tax.address_change"
    assert entry["traceparent"] == TRACEPARENT
    taxpayer = client.get("/api/v1/taxpayers/BR-2019-004211").json()
    assert taxpayer["registered_address"] == "1 New Street, Riverton"


def test_error_fault_applies_nothing(client: httpx.Client, tax: SimProcess) -> None:
    """error_rate=1 gives 503 and no ledger entry; clearing faults recovers."""
    tax.set_faults(error_rate=1.0)
    resp = client.post(
        "/api/v1/clearance-checks",
        json={"registration_number": "BR-2019-004211"},
        headers={"Idempotency-Key": "fault-1"},
    )
    assert resp.status_code == 503
    assert tax.ledger_entry("fault-1") is None
    tax.set_faults(down=True)
    assert client.get("/api/v1/taxpayers/BR-2019-004211").status_code == 503
    tax.set_faults()
    assert client.get("/api/v1/taxpayers/BR-2019-004211").status_code == 200


def test_malformed_and_timeout_faults(client: httpx.Client, tax: SimProcess) -> None:
    """malformed_rate=1 omits required fields; timeout_rate=1 hangs then 504; nothing applied."""
    tax.set_faults(malformed_rate=1.0)
    resp = client.post(
        "/api/v1/clearance-checks",
        json={"registration_number": "BR-2019-004211"},
        headers={"Idempotency-Key": "mal-1"},
    )
    assert resp.status_code == 200
    assert "status" not in resp.json()
    assert tax.ledger_entry("mal-1") is None
    tax.set_faults(timeout_rate=1.0, timeout_ms=300)
    resp = client.get("/api/v1/taxpayers/BR-2019-004211")
    assert resp.status_code == 504
    assert client.put("/_sim/faults", json={"nope": 1}).status_code == 422


def test_ledger_survives_restart(tmp_path: Path) -> None:
    """The SQLite ledger persists across a restart with the same data dir."""
    sim = start_sim("tax", tmp_path)
    try:
        headers = {"Idempotency-Key": "persist-1"}
        body = {"registration_number": "BR-2019-004211"}
        first = httpx.post(f"{sim.url}/api/v1/clearance-checks", json=body, headers=headers)
    finally:
        sim.stop()
    sim = start_sim("tax", tmp_path, data_dir=sim.data_dir)
    try:
        again = httpx.post(f"{sim.url}/api/v1/clearance-checks", json=body, headers=headers)
        assert again.json() == first.json()
        entry = sim.ledger_entry("persist-1")
        assert entry is not None
        assert (entry["applied"], entry["received"]) == (1, 2)
    finally:
        sim.stop()


def test_auth(tmp_path: Path) -> None:
    """With an API key and bearer token configured, both are required."""
    sim = start_sim("tax", tmp_path, "--api-key", "k3y", env={"SIM_TAX_BEARER_TOKEN": "t0ken"})
    try:
        url = f"{sim.url}/api/v1/taxpayers/BR-2019-004211"
        assert httpx.get(url).status_code == 401
        assert httpx.get(url, headers={"X-API-Key": "k3y"}).status_code == 401
        good = {"X-API-Key": "k3y", "Authorization": "Bearer t0ken"}
        assert httpx.get(url, headers=good).status_code == 200
        assert httpx.get(f"{sim.url}/_sim/health").status_code == 200
    finally:
        sim.stop()


def test_answer_delay_holds_the_answer_after_the_effect(
    client: httpx.Client, tax: SimProcess
) -> None:
    """answer_delay_ms=1500: the effect is in the ledger while the answer is still on its way
    (the chaos suite's "department slower than the lease", issue 18)."""
    import concurrent.futures

    tax.set_faults(answer_delay_ms=1500)
    try:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            answer = pool.submit(
                client.post,
                "/api/v1/clearance-checks",
                json={"registration_number": "BR-2019-004211"},
                headers={"Idempotency-Key": "slow-answer-1"},
            )
            applied = wait_for(lambda: tax.ledger_entry("slow-answer-1"), timeout=5)
            assert not answer.done()
            assert applied["applied"] == 1
            assert answer.result(timeout=10).status_code == 200
        assert client.get("/_sim/health").status_code == 200
    finally:
        tax.set_faults()
