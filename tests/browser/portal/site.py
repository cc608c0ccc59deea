"""A running portal for browser tests: uvicorn on a free port, in-process departments, a step
runner working the case in the background, headless Debian Chromium, axe-core checks."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from civicloom.applications import StepHandler
from civicloom.departments import CapabilityCall, InProcessGateway
from civicloom.documents import build_documents_runtime, licence_step_handler
from civicloom.runtime import Container
from civicloom.settings import Settings
from tests.browser.serving import CHROMIUM_ARGS as CHROMIUM_ARGS  # the walks import them here
from tests.browser.serving import check_accessibility as check_accessibility
from tests.browser.serving import serve_with_engine


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


@contextlib.asynccontextmanager
async def running_site(settings: Settings) -> AsyncIterator[Site]:
    """Serve the app and run the case engine (licences included) until the test ends."""

    def handlers(container: Container) -> dict[str, StepHandler]:
        documents = build_documents_runtime(container.settings)
        return {"issue_document": licence_step_handler(container, documents)}

    async with serve_with_engine(settings, departments(), handlers) as served:
        yield Site(base=served.base, container=served.container)


async def poll(check: Callable[[], Awaitable[bool]], what: str, seconds: float = 20) -> None:
    """Wait until ``check`` holds, or fail naming what did not happen."""
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)
