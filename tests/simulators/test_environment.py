"""Environment simulator: 202 + signed async callback, retries, callback faults."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.simulators.harness import SimProcess, start_sim, wait_for
from tests.simulators.receiver import Receiver, callback_receiver

SECRET = "s3cret-shared-with-the-platform"


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProcess]:
    """An environment simulator calling back after 200 ms."""
    proc = start_sim(
        "environment",
        tmp_path_factory.mktemp("environment"),
        "--callback-delay-ms",
        "200",
        env={"SIM_ENVIRONMENT_CALLBACK_SECRET": SECRET},
    )
    yield proc
    proc.stop()


@pytest.fixture
def receiver(sim: SimProcess) -> Iterator[Receiver]:
    """A fresh callback receiver and a reset simulator."""
    sim.reset()
    with callback_receiver() as rec:
        yield rec


def screening(rec: Receiver, **overrides: Any) -> dict[str, Any]:
    """A screening request body."""
    body = {
        "callback_url": rec.url,
        "registration_number": "BR-2019-004211",
        "parcel_id": "P-0042-117",
        "seating": 40,
        "grease_trap": True,
        "activity": "restaurant",
    }
    return {**body, **overrides}


def valid_signature(headers: dict[str, str], body: bytes) -> bool:
    """Check the X-Civicloom-Signature header like the platform does."""
    timestamp = headers["X-Civicloom-Timestamp"]
    assert abs(int(timestamp) - time.time()) < 60
    expected = hmac.new(SECRET.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest(headers["X-Civicloom-Signature"], "sha256=" + expected.hexdigest())


def post(sim: SimProcess, body: dict[str, Any], key: str) -> httpx.Response:
    """POST a screening."""
    return httpx.post(f"{sim.url}/api/screenings", json=body, headers={"Idempotency-Key": key})


def test_callback_signed_and_idempotent(sim: SimProcess, receiver: Receiver) -> None:
    """Same key twice: one screening id, one callback, valid HMAC, cleared outcome."""
    first = post(sim, screening(receiver), "env-1")
    second = post(sim, screening(receiver), "env-1")
    assert first.status_code == second.status_code == 202
    assert first.json() == second.json()
    assert first.json()["status"] == "accepted"
    (call,) = wait_for(receiver.snapshot, timeout=10)
    assert valid_signature(call.headers, call.body)
    payload = json.loads(call.body)
    assert payload["screening_id"] == first.json()["screening_id"]
    assert payload["idempotency_key"] == "env-1"
    assert (payload["outcome"], payload["reasons"]) == ("cleared", [])
    time.sleep(0.5)  # would a second callback arrive? (none must)
    assert len(receiver.snapshot()) == 1
    entry = sim.ledger_entry("env-1")
    assert entry is not None
    assert (entry["applied"], entry["received"]) == (1, 2)
    status = httpx.get(f"{sim.url}/api/screenings/{payload['screening_id']}").json()
    assert (status["status"], status["outcome"]) == ("completed", "cleared")


def test_inspection_rule_and_retry(sim: SimProcess, receiver: Receiver) -> None:
    """Seating > 50 or no grease trap needs inspection; a 500 is retried."""
    receiver.statuses.extend([500, 503])
    resp = post(sim, screening(receiver, seating=80, grease_trap=False), "env-2")
    calls = wait_for(lambda: receiver.snapshot()[2:], timeout=10)
    payload = json.loads(calls[0].body)
    assert payload["outcome"] == "inspection_required"
    assert len(payload["reasons"]) == 2
    status = httpx.get(f"{sim.url}/api/screenings/{resp.json()['screening_id']}").json()
    assert status["callback"]["attempts"] == 3


def test_callback_faults(sim: SimProcess, receiver: Receiver) -> None:
    """duplicate_callback_rate sends twice; bad_signature_rate breaks the HMAC."""
    sim.set_faults(duplicate_callback_rate=1.0, callback_delay_ms=50)
    post(sim, screening(receiver), "env-3")
    one, two = wait_for(lambda: receiver.snapshot()[:2] if len(receiver.snapshot()) > 1 else [])
    assert one.body == two.body
    sim.set_faults(bad_signature_rate=1.0, callback_delay_ms=50)
    receiver.calls.clear()
    post(sim, screening(receiver), "env-4")
    bad = wait_for(receiver.snapshot)[0]
    assert not valid_signature(bad.headers, bad.body)


def test_drop_callback_and_polling(sim: SimProcess, receiver: Receiver) -> None:
    """drop_callback_rate never calls back, but polling shows the outcome."""
    sim.set_faults(drop_callback_rate=1.0, callback_delay_ms=50)
    resp = post(sim, screening(receiver, seating=60), "env-5")
    url = f"{sim.url}/api/screenings/{resp.json()['screening_id']}"
    done = wait_for(lambda: httpx.get(url).json()["status"] == "completed", timeout=10)
    assert done
    assert httpx.get(url).json()["outcome"] == "inspection_required"
    assert receiver.snapshot() == []


def test_request_faults(sim: SimProcess, receiver: Receiver) -> None:
    """error_rate=1 → 503, nothing applied or called back; missing key → 400."""
    sim.set_faults(error_rate=1.0, callback_delay_ms=50)
    assert post(sim, screening(receiver), "env-6").status_code == 503
    assert sim.ledger_entry("env-6") is None
    sim.set_faults(malformed_rate=1.0)
    assert "screening_id" not in post(sim, screening(receiver), "env-7").json()
    sim.set_faults()
    resp = httpx.post(f"{sim.url}/api/screenings", json=screening(receiver))
    assert resp.status_code == 400
    time.sleep(0.3)
    assert receiver.snapshot() == []
