"""The SMS provider simulator over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.simulators.harness import SimProcess, start_sim


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProcess]:
    process = start_sim("sms", tmp_path_factory.mktemp("sms"))
    yield process
    process.stop()


def send(sim: SimProcess, key: str, to: str = "+4915550001") -> httpx.Response:
    return httpx.post(
        f"{sim.url}/v1/messages",
        json={"to": to, "text": "Your application RST-1 was received"},
        headers={"Idempotency-Key": key},
        timeout=5,
    )


def test_messages_are_idempotent(sim: SimProcess) -> None:
    sim.reset()
    first, again = send(sim, "m-1"), send(sim, "m-1")
    assert first.status_code == 202
    assert again.json() == first.json()
    listed = httpx.get(f"{sim.url}/v1/messages", timeout=5).json()["messages"]
    assert [m["to"] for m in listed] == ["+4915550001"]


def test_bad_numbers_and_outages_are_refused(sim: SimProcess) -> None:
    sim.reset()
    assert send(sim, "m-2", to="12345").status_code == 422
    sim.set_faults(down=True)
    assert send(sim, "m-3").status_code == 503
    sim.set_faults()
    assert httpx.get(f"{sim.url}/v1/messages", timeout=5).json()["messages"] == []
