"""A running portal for browser tests: uvicorn on a free port, in-process departments, a step
runner working the case in the background, headless Debian Chromium, axe-core checks."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from playwright.async_api import Page

from civicloom.applications import StepHandler
from civicloom.departments import CapabilityCall, InProcessGateway
from civicloom.documents import build_documents_runtime, licence_step_handler
from civicloom.runtime import Container
from civicloom.settings import PROJECT_ROOT, Settings
from tests.browser.serving import serve_with_engine

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


@contextlib.asynccontextmanager
async def running_site(settings: Settings) -> AsyncIterator[Site]:
    """Serve the app and run the case engine (licences included) until the test ends."""

    def handlers(container: Container) -> dict[str, StepHandler]:
        documents = build_documents_runtime(container.settings)
        return {"issue_document": licence_step_handler(container, documents)}

    async with serve_with_engine(settings, departments(), handlers) as served:
        yield Site(base=served.base, container=served.container)


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
