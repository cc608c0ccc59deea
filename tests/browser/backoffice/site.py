"""The back office for browser tests: uvicorn on a free port, the case engine working in the
background over switchable in-process departments, and a signed-in Chromium page."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import uvicorn
from playwright.async_api import Page

from civicloom.app import create_app
from civicloom.applications import StepRunner
from civicloom.bootstrap import build_container
from civicloom.demo import load_demo
from civicloom.runtime import Container
from civicloom.settings import Settings
from tests.browser.portal.site import CHROMIUM, poll
from tests.conftest import unavailable
from tests.integration.backoffice.world import Departments


@dataclass
class BackOffice:
    """The app over real HTTP, the container behind it and the departments it calls."""

    base: str
    container: Container
    departments: Departments


async def _wait_until_up(base: str) -> None:
    async def up() -> bool:
        async with httpx.AsyncClient() as http:
            with contextlib.suppress(httpx.TransportError):
                return (await http.get(f"{base}/healthz")).status_code == 200
        return False

    await poll(up, "the app to start", 15)


async def _work(runner: StepRunner, stop: asyncio.Event) -> None:
    while not stop.is_set():
        if not await runner.run_once("browser-test"):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.05)


@contextlib.asynccontextmanager
async def running_back_office(settings: Settings) -> AsyncIterator[BackOffice]:
    """Serve the app and run the case engine until the test ends."""
    if shutil.which(CHROMIUM) is None:
        unavailable("Chromium", FileNotFoundError(CHROMIUM))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    container = build_container(settings.model_copy(update={"public_url": base}))
    await load_demo(container, progress=lambda _: None)
    departments = Departments()
    gateway = departments.gateway()
    app = create_app(container)
    app.state.capability_gateway = gateway
    runner = StepRunner(container, gateway)
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="on"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    stop = asyncio.Event()
    working = asyncio.create_task(_work(runner, stop))
    try:
        await _wait_until_up(base)
        yield BackOffice(base=base, container=container, departments=departments)
    finally:
        stop.set()
        await working
        server.should_exit = True
        await serving
        sock.close()


async def sign_in(page: Page, site: BackOffice, persona: str, path: str) -> None:
    """Open a back-office page signed out, sign in as a demo persona, land back on it."""
    await page.goto(f"{site.base}{path}")
    await page.wait_for_url("**/auth/dev-login**")
    await page.click(f"button[data-persona={persona}]")
    await page.wait_for_url(f"{site.base}{path}")


async def tab_to(page: Page, selector: str, presses: int = 80) -> None:
    """Move the keyboard focus with Tab until the element matching ``selector`` has it."""
    for _ in range(presses):
        if await page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector):
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")
