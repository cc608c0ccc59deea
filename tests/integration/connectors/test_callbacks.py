"""Signed callbacks end to end: the environment simulator calls our real HTTP endpoint.

Bad signatures, replays, stale timestamps, duplicate and late callbacks, and contract breaks are
refused or ignored; each good answer reaches the engine's handler exactly once. Runs on SQLite
and PostgreSQL (the seen-set is a table).
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from pydantic import SecretStr

from civicloom.app import create_app
from civicloom.connectors import (
    CALLBACK_VERIFIERS,
    COMPLETION_HANDLER,
    ConnectorGateway,
    build_connectors,
    sign_callback,
)
from civicloom.connectors.services import CompletionHandler
from civicloom.departments import (
    CAPABILITY_GATEWAY,
    CallOutcome,
    CapabilityCall,
    ExternalCompletion,
    load_departments,
)
from civicloom.runtime import Container
from civicloom.settings import PROJECT_ROOT
from tests.simulators.harness import SimProcess, start_sim
from tests.wiring import swap

SECRET = "integration-callback-secret"


@dataclass
class Recorder:
    """The engine stand-in: records every completion handed over."""

    completions: list[ExternalCompletion] = field(default_factory=list)

    async def __call__(self, completion: ExternalCompletion) -> None:
        self.completions.append(completion)

    async def wait_for(self, count: int, within: float = 10.0) -> None:
        """Poll until ``count`` completions arrived (or fail at the deadline)."""
        deadline = time.monotonic() + within
        while len(self.completions) < count:
            assert time.monotonic() < deadline, f"only {len(self.completions)} completions"
            await asyncio.sleep(0.05)


@dataclass
class Platform:
    """Our API on a real port, with its gateway and recorder."""

    url: str
    recorder: Recorder
    gateway: ConnectorGateway


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The environment simulator, calling back after 50 ms."""
    sim = start_sim(
        "environment",
        tmp_path_factory.mktemp("env"),
        "--callback-secret",
        SECRET,
        "--callback-delay-ms",
        "50",
    )
    yield sim
    sim.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
async def platform(container: Container, environment: SimProcess) -> AsyncIterator[Platform]:
    """Serve the app with uvicorn on a free port; wire the handler and gateway."""
    environment.reset()
    port = _free_port()
    settings = container.settings.model_copy(
        update={
            "connector_secrets": {"environment.callback": SecretStr(SECRET)},
            "public_url": f"http://127.0.0.1:{port}",
        }
    )
    registry = build_connectors(
        load_departments(PROJECT_ROOT / "blueprints"),
        settings,
        {"environment": environment.url},
    )
    gateway = ConnectorGateway(registry)
    recorder = Recorder()
    app = create_app(container)
    swap(app, CALLBACK_VERIFIERS, registry.callback_verifiers())
    handler: CompletionHandler = recorder
    swap(app, COMPLETION_HANDLER, handler)
    swap(app, CAPABILITY_GATEWAY, gateway)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        await asyncio.sleep(0.02)
    try:
        yield Platform(f"http://127.0.0.1:{port}", recorder, gateway)
    finally:
        server.should_exit = True
        await task
        await registry.close()


def screening(key: str, seating: int = 40) -> CapabilityCall:
    """An environmental screening call."""
    return CapabilityCall(
        "environment",
        "environment.screening",
        {
            "registration_number": "BR-2019-004211",
            "parcel_id": "P-0042-117",
            "seating": seating,
            "grease_trap": True,
            "activity": "restaurant",
        },
        key,
    )


def signed(body: dict[str, Any], secret: str = SECRET, at: int | None = None) -> dict[str, Any]:
    """Headers and content of a callback signed like the department does."""
    raw = json.dumps(body, separators=(",", ":")).encode()
    ts = str(at if at is not None else int(time.time()))
    return {
        "content": raw,
        "headers": {
            "Content-Type": "application/json",
            "X-Civicloom-Timestamp": ts,
            "X-Civicloom-Signature": sign_callback(secret, ts, raw),
        },
    }


async def status_of(sim: SimProcess, reference: str) -> dict[str, Any]:
    """The simulator's view of a screening (its polling endpoint)."""
    async with httpx.AsyncClient() as client:
        body: dict[str, Any] = (await client.get(f"{sim.url}/api/screenings/{reference}")).json()
        return body


ANSWER = {
    "screening_id": "SCR-1",
    "idempotency_key": "manual-1",
    "outcome": "cleared",
    "reasons": [],
    "completed_at": "2026-01-01T00:00:00Z",
}


async def test_accepted_then_called_back_once(platform: Platform, environment: SimProcess) -> None:
    """202 → ACCEPTED; the signed callback reaches the handler once, even when sent twice."""
    environment.set_faults(callback_delay_ms=50, duplicate_callback_rate=1.0)
    result = await platform.gateway.call(screening("env-1", seating=80))
    assert result.outcome is CallOutcome.ACCEPTED
    assert result.external_reference == result.output["screening_id"]
    await platform.recorder.wait_for(1)
    done = platform.recorder.completions[0]
    assert (done.idempotency_key, done.received_from) == ("env-1", "environment")
    assert done.output["outcome"] == "inspection_required"
    deadline = time.monotonic() + 5
    while (await status_of(environment, done.output["screening_id"]))["callback"]["deliveries"] < 2:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    assert len(platform.recorder.completions) == 1  # the duplicate was acknowledged, not handed on


async def test_bad_signature_refused_and_retried(
    platform: Platform, environment: SimProcess
) -> None:
    """A tampered signature is refused (401, nothing handed over); the retry then succeeds."""
    environment.set_faults(callback_delay_ms=50, bad_signature_rate=1.0)
    result = await platform.gateway.call(screening("env-2"))
    assert result.external_reference is not None
    ref = result.external_reference
    deadline = time.monotonic() + 5
    while (await status_of(environment, ref))["callback"]["attempts"] < 1:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    environment.set_faults(callback_delay_ms=50)  # the next attempts are signed correctly
    await platform.recorder.wait_for(1)
    # The simulator counts the attempt after it has the answer: poll, do not race it.
    deadline = time.monotonic() + 5
    while (await status_of(environment, ref))["callback"]["attempts"] < 2:
        assert time.monotonic() < deadline, "the refused callback was not retried"
        await asyncio.sleep(0.05)
    assert [c.idempotency_key for c in platform.recorder.completions] == ["env-2"]


async def test_late_callback_still_accepted_and_polling_fallback(
    platform: Platform, environment: SimProcess
) -> None:
    """A dropped callback: the polling fallback finds the answer; a late callback is kept once."""
    environment.set_faults(callback_delay_ms=50, drop_callback_rate=1.0)
    result = await platform.gateway.call(screening("env-3"))
    assert result.external_reference is not None
    connector = platform.gateway.registry.connector("environment")
    fetch = getattr(connector, "fetch_completion")  # noqa: B009 - CallbackConnector-only
    deadline = time.monotonic() + 5
    polled = await fetch(result.external_reference)
    while polled is None:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
        polled = await fetch(result.external_reference)
    assert polled.idempotency_key == "env-3"
    assert polled.output["outcome"] == "cleared"
    assert platform.recorder.completions == []


async def test_forged_stale_replayed_and_invalid_callbacks(platform: Platform) -> None:
    """Each misuse gets a problem answer naming why, and nothing reaches the engine twice."""
    async with httpx.AsyncClient(base_url=platform.url) as client:
        url = "/api/v1/callbacks/environment"
        forged = await client.post(url, **signed(ANSWER, secret="wrong"))
        assert forged.status_code == 401
        assert forged.json()["type"] == "/problems/callback-refused"
        stale = await client.post(url, **signed(ANSWER, at=int(time.time()) - 3600))
        assert stale.status_code == 401
        unsigned = await client.post(url, content=b"{}")
        assert unsigned.status_code == 401
        good = signed(ANSWER)
        first = await client.post(url, **good)
        assert (first.status_code, first.json()["status"]) == (200, "accepted")
        replay = await client.post(url, **good)
        assert replay.status_code == 409
        duplicate = await client.post(url, **signed(ANSWER, at=int(time.time()) + 1))
        assert (duplicate.status_code, duplicate.json()["status"]) == (200, "duplicate")
        broken = await client.post(
            url, **signed({**ANSWER, "idempotency_key": "m-2", "outcome": "?"})
        )
        assert broken.status_code == 422
        assert "outcome" in broken.json()["detail"]
        unknown = await client.post("/api/v1/callbacks/tax", **signed(ANSWER))
        assert unknown.status_code == 404
    assert [c.idempotency_key for c in platform.recorder.completions] == ["manual-1"]


async def test_without_handler_the_department_is_told_to_retry(
    container: Container, tmp_path: Path
) -> None:
    """No engine handler wired yet → 503 (the simulator retries), nothing recorded."""
    app = create_app(container)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        resp = await client.post("/api/v1/callbacks/environment", **signed(ANSWER))
    assert resp.status_code == 503
    assert resp.headers["content-type"].startswith("application/problem+json")


async def test_every_callback_answer_is_documented_and_its_problem_type_resolves(
    platform: Platform,
) -> None:
    """Issue 16: only 200 and 422 were documented; 401, 404, 409 (and 403, 503) happen."""
    answer = {**ANSWER, "idempotency_key": "documented-1"}
    async with httpx.AsyncClient(base_url=platform.url) as client:
        url = "/api/v1/callbacks/environment"
        answers = {
            "forged": await client.post(url, **signed(answer, secret="wrong")),
            "unknown": await client.post("/api/v1/callbacks/tax", **signed(answer)),
            "broken": await client.post(url, **signed({**answer, "outcome": "?"})),
        }
        good = signed(answer)
        answers["first"] = await client.post(url, **good)
        answers["replay"] = await client.post(url, **good)
        document = (await client.get("/api/v1/openapi.json")).json()
        types = {
            slug: await client.get(f"/problems/{slug}")
            for slug in (
                "callback-refused",
                "callback-replayed",
                "callback-invalid",
                "completion-refused",
                "completion-not-awaited",
                "callbacks-unavailable",
            )
        }
    statuses = {name: r.status_code for name, r in answers.items()}
    assert statuses == {"forged": 401, "unknown": 404, "broken": 422, "first": 200, "replay": 409}
    documented = document["paths"]["/api/v1/callbacks/{department}"]["post"]["responses"]
    assert sorted(documented) == ["200", "401", "403", "404", "409", "413", "422", "503"]
    for name, response in answers.items():
        if name != "first":
            assert response.headers["content-type"] == "application/problem+json", name
            assert "application/problem+json" in documented[str(response.status_code)]["content"]
    assert answers["first"].json() == {"status": "accepted"}
    assert {slug: r.status_code for slug, r in types.items()} == dict.fromkeys(types, 200)
    assert types["completion-refused"].json()["title"] == "This department may not answer that task"
    assert (
        types["completion-not-awaited"].json()["title"] == "The task is not waiting for an answer"
    )
