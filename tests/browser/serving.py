"""The platform for browser tests: the app served by uvicorn on a free port, with the case
engine working in the background, over in-process departments chosen by the caller."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx
import uvicorn

from civicloom.app import create_app
from civicloom.applications import StepHandler, StepRunner
from civicloom.bootstrap import build_container
from civicloom.demo import load_demo
from civicloom.departments import CAPABILITY_GATEWAY, CapabilityGateway
from civicloom.runtime import Container
from civicloom.settings import Settings
from tests.conftest import unavailable
from tests.wiring import swap

CHROMIUM = "/usr/bin/chromium"


@dataclass(frozen=True)
class Served:
    """Where the app answers and the container behind it."""

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
async def serve_with_engine(
    settings: Settings,
    gateway: CapabilityGateway,
    handlers: Callable[[Container], dict[str, StepHandler]] | None = None,
) -> AsyncIterator[Served]:
    """Serve the app (demo loaded) and run the case engine until the block ends."""
    if shutil.which(CHROMIUM) is None:
        unavailable("Chromium", FileNotFoundError(CHROMIUM))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    container = build_container(settings.model_copy(update={"public_url": base}))
    await load_demo(container, progress=lambda _: None)
    app = create_app(container)
    swap(app, CAPABILITY_GATEWAY, gateway)
    runner = StepRunner(container, gateway, handlers=handlers(container) if handlers else None)
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="on"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    stop = asyncio.Event()
    working = asyncio.create_task(_work(runner, stop))
    try:
        await _wait_until_up(base)
        yield Served(base=base, container=container)
    finally:
        stop.set()
        await working
        server.should_exit = True
        await serving
        sock.close()
