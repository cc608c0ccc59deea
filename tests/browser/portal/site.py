"""A running portal for browser tests: uvicorn on a free port, in-process departments, a step
runner working the case in the background, headless Debian Chromium, axe-core checks."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import shutil
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from playwright.async_api import Page

from civicloom.app import create_app
from civicloom.applications import StepRunner
from civicloom.bootstrap import build_container
from civicloom.demo import load_demo
from civicloom.departments import CapabilityCall, InProcessGateway
from civicloom.documents import build_documents_runtime, licence_step_handler
from civicloom.runtime import Container
from civicloom.settings import PROJECT_ROOT, Settings
from tests.conftest import unavailable

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
AXE = PROJECT_ROOT / "node_modules/axe-core/axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21aa", "wcag22aa"]


@functools.cache
def axe_source() -> str:
    """axe-core, read once (installed by `make assets`)."""
    return AXE.read_text()


def departments() -> InProcessGateway:
    """The four departments' answers for Golden Dragon Kitchen (as the simulators give them)."""

    def answer(output: dict[str, Any]) -> Callable[[CapabilityCall], Awaitable[dict[str, Any]]]:
        async def call(_: CapabilityCall) -> dict[str, Any]:
            await asyncio.sleep(0.2)  # departments take a moment: the page shows them working
            return output

        return call

    return InProcessGateway(
        {
            "local-admin.business_lookup": answer(
                {
                    "name": "Golden Dragon Kitchen Ltd",
                    "status": "active",
                    "director_name": "Alice Chen",
                    "registered_address": "12 Harbour Street, Riverton",
                }
            ),
            "local-admin.zoning_check": answer({"zone": "commercial", "allowed": True}),
            "tax.clearance_check": answer({"status": "cleared"}),
            "environment.screening": answer({"outcome": "cleared"}),
            "labour.register_employer": answer({"status": "registered", "employer_id": "EMP-1"}),
            "local-admin.register_activity": answer({"status": "registered"}),
        }
    )


@dataclass
class Site:
    """The portal over real HTTP and the container behind it."""

    base: str
    container: Container


async def _wait_until_up(base: str) -> None:
    deadline = time.monotonic() + 15
    async with httpx.AsyncClient() as http:
        while True:
            with contextlib.suppress(httpx.TransportError):
                if (await http.get(f"{base}/healthz")).status_code == 200:
                    return
            assert time.monotonic() < deadline, "the app did not start"
            await asyncio.sleep(0.05)


async def _work(runner: StepRunner, stop: asyncio.Event) -> None:
    while not stop.is_set():
        if not await runner.run_once("browser-test"):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.05)


@contextlib.asynccontextmanager
async def running_site(settings: Settings) -> AsyncIterator[Site]:
    """Serve the app and run the case engine until the test ends."""
    if shutil.which(CHROMIUM) is None:
        unavailable("Chromium", FileNotFoundError(CHROMIUM))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    container = build_container(settings.model_copy(update={"public_url": base}))
    await load_demo(container, progress=lambda _: None)
    app = create_app(container)
    gateway = departments()
    app.state.capability_gateway = gateway
    documents = build_documents_runtime(container.settings)
    runner = StepRunner(
        container, gateway, handlers={"issue_document": licence_step_handler(container, documents)}
    )
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="on"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    stop = asyncio.Event()
    working = asyncio.create_task(_work(runner, stop))
    try:
        await _wait_until_up(base)
        yield Site(base=base, container=container)
    finally:
        stop.set()
        await working
        server.should_exit = True
        await serving
        sock.close()


async def check_accessibility(page: Page, visited: list[str]) -> None:
    """Run axe-core (WCAG 2.2 AA rule sets) on the page; fail on any violation."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.evaluate(axe_source())
    result = await page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})",
        AXE_TAGS,
    )
    violations = [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
    ]
    visited.append(page.url)
    assert violations == [], f"axe on {page.url}: {violations}"


async def poll(check: Callable[[], Awaitable[bool]], what: str, seconds: float = 20) -> None:
    """Wait until ``check`` holds, or fail naming what did not happen."""
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)
