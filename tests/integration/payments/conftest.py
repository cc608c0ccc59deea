"""Fixtures for payments: the payment simulator process, the platform on a real port."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr

from civicloom.app import create_app
from civicloom.applications import SubmitApplication, submit_application
from civicloom.catalogue import Blueprint, publish_blueprint
from civicloom.kernel import Principal
from civicloom.runtime import Container
from tests.simulators.harness import SimProcess, start_sim
from tests.wiring import reconfigure

SECRET = "payments-test-webhook-secret"
ALICE = Principal(
    subject="alice",
    display_name="Alice Chen",
    roles=frozenset({"citizen"}),
    authenticated_by="dev-login",
)


def pay_blueprint() -> Blueprint:
    """A service whose only step is paying the fee the local administration's model sets."""
    return Blueprint.model_validate(
        {
            "id": "pay-test",
            "version": 1,
            "owner": "local-admin",
            "reference_prefix": "PAY",
            "title": {"en": "Pay test", "zh-Hans": "缴费测试"},
            "form": {
                "schema": {
                    "type": "object",
                    "properties": {"seating": {"type": "integer"}},
                }
            },
            "fees": {"model": "local-admin/licence-fee", "input": {"seating": "$.data.seating"}},
            "steps": [
                {
                    "id": "payment",
                    "kind": "payment",
                    "department": "local-admin",
                    "input": {
                        "amount": "$.decisions.fees.fee",
                        "currency": "$.decisions.fees.currency",
                    },
                }
            ],
        }
    )


@pytest.fixture(scope="module")
def payment_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProcess]:
    """The payment provider simulator as a real process (one per module, reset per test)."""
    workdir: Path = tmp_path_factory.mktemp("payments-sim")
    sim = start_sim("payments", workdir, env={"SIM_PAYMENTS_WEBHOOK_SECRET": SECRET})
    try:
        yield sim
    finally:
        sim.stop()


@dataclass
class LivePlatform:
    """The platform served on a real port, so the simulator can call its webhook."""

    container: Container
    app: FastAPI
    url: str
    sim: SimProcess

    def client(self) -> httpx.AsyncClient:
        """An HTTP client speaking to the live platform."""
        return httpx.AsyncClient(base_url=self.url, timeout=10.0)

    async def application(self, seating: int = 40) -> str:
        """Alice applies to the pay-test service; returns the application id."""
        view, _ = await submit_application(
            self.container.uow(),
            self.container.clock,
            ALICE,
            SubmitApplication(service_id="pay-test", data={"seating": seating}),
        )
        return view.id


@pytest.fixture
async def live(container: Container, payment_sim: SimProcess) -> AsyncIterator[LivePlatform]:
    """The platform on a free port, wired to the payment simulator."""
    payment_sim.reset()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    reconfigure(
        container,
        container.settings.model_copy(
            update={
                "public_url": url,
                "payments_provider_url": payment_sim.url,
                "payments_webhook_secret": SecretStr(SECRET),
            }
        ),
    )
    async with container.uow() as uow:
        await publish_blueprint(
            uow.session, pay_blueprint(), container.clock.now(), actor="test:setup"
        )
        await uow.commit()
    app = create_app(container)
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(200):
            if server.started:
                break
            await asyncio.sleep(0.02)
        yield LivePlatform(container, app, url, payment_sim)
    finally:
        server.should_exit = True
        await task
        sock.close()


async def poll(check: Any, within: float = 10.0) -> Any:
    """Await ``check()`` until it returns a truthy value or the deadline passes."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met before the deadline")
        await asyncio.sleep(0.05)
