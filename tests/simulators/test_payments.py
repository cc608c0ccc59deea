"""The payment provider simulator over real HTTP: intents, hosted page, webhooks, refunds."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.simulators.harness import SimProcess, start_sim, wait_for
from tests.simulators.receiver import Receiver, callback_receiver

SECRET = "sim-test-secret"


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProcess]:
    process = start_sim(
        "payments",
        tmp_path_factory.mktemp("payments"),
        env={"SIM_PAYMENTS_WEBHOOK_SECRET": SECRET},
    )
    yield process
    process.stop()


@pytest.fixture
def receiver(sim: SimProcess) -> Iterator[Receiver]:
    sim.reset()
    with callback_receiver() as r:
        yield r


def intent(sim: SimProcess, key: str, receiver: Receiver, amount: int = 40000) -> httpx.Response:
    return httpx.post(
        f"{sim.url}/v1/intents",
        json={
            "amount_minor": amount,
            "currency": "EUR",
            "description": "Licence fee",
            "return_url": "http://127.0.0.1:1/back",
            "webhook_url": receiver.url,
        },
        headers={"Idempotency-Key": key},
        timeout=5,
    )


def test_intents_are_idempotent_and_a_reused_key_needs_the_same_body(
    sim: SimProcess, receiver: Receiver
) -> None:
    first = intent(sim, "k-1", receiver)
    again = intent(sim, "k-1", receiver)
    other = intent(sim, "k-1", receiver, amount=1)
    assert first.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert other.status_code == 422
    assert sim.ledger_entry("k-1") is not None
    assert httpx.post(f"{sim.url}/v1/intents", json={}, timeout=5).status_code in (400, 422)


def test_hosted_page_success_sends_one_signed_webhook(sim: SimProcess, receiver: Receiver) -> None:
    created = intent(sim, "k-2", receiver).json()
    page = httpx.get(created["next_url"], timeout=5)
    assert "Sandbox payment" in page.text
    done = httpx.post(f"{sim.url}/pay/{created['id']}", data={"outcome": "success"}, timeout=5)
    assert done.status_code == 303
    assert "status=succeeded" in done.headers["location"]
    calls = wait_for(receiver.snapshot)
    body = calls[0].body
    timestamp = calls[0].headers["X-Sandbox-Timestamp"]
    expected = hmac.new(SECRET.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    assert calls[0].headers["X-Sandbox-Signature"] == "sha256=" + expected.hexdigest()
    assert json.loads(body)["type"] == "payment.succeeded"
    # Choosing again changes nothing: the outcome is final.
    httpx.post(f"{sim.url}/pay/{created['id']}", data={"outcome": "decline"}, timeout=5)
    assert httpx.get(f"{sim.url}/v1/intents/{created['id']}", timeout=5).json()["status"] == (
        "succeeded"
    )


def test_refunds_cannot_exceed_the_payment(sim: SimProcess, receiver: Receiver) -> None:
    created = intent(sim, "k-3", receiver).json()
    httpx.post(f"{sim.url}/pay/{created['id']}", data={"outcome": "success"}, timeout=5)

    def refund(key: str, amount: int) -> httpx.Response:
        return httpx.post(
            f"{sim.url}/v1/refunds",
            json={"intent_id": created["id"], "amount_minor": amount},
            headers={"Idempotency-Key": key},
            timeout=5,
        )

    assert refund("r-1", 30000).status_code == 201
    assert refund("r-1", 30000).status_code == 201  # replay, not a second refund
    assert refund("r-2", 10001).status_code == 422
    assert refund("r-3", 10000).status_code == 201
    assert (
        httpx.get(f"{sim.url}/v1/intents/{created['id']}", timeout=5).json()["refunded_minor"]
        == 40000
    )


def test_down_fault_refuses_before_any_effect(
    sim: SimProcess, receiver: Receiver, tmp_path: Path
) -> None:
    sim.set_faults(down=True)
    assert intent(sim, "k-4", receiver).status_code == 503
    assert sim.ledger_entry("k-4") is None
    sim.set_faults()
    assert intent(sim, "k-4", receiver).status_code == 201
