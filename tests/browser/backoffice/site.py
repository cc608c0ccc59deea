"""The back office for browser tests: uvicorn on a free port, the case engine working in the
background over switchable in-process departments, and a signed-in Chromium page."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from playwright.async_api import Page

from civicloom.runtime import Container
from civicloom.settings import Settings
from tests.browser.serving import serve_with_engine
from tests.integration.backoffice.world import Departments


@dataclass
class BackOffice:
    """The app over real HTTP, the container behind it and the departments it calls."""

    base: str
    container: Container
    departments: Departments


@contextlib.asynccontextmanager
async def running_back_office(settings: Settings) -> AsyncIterator[BackOffice]:
    """Serve the app and run the case engine until the test ends."""
    departments = Departments()
    async with serve_with_engine(settings, departments.gateway()) as served:
        yield BackOffice(base=served.base, container=served.container, departments=departments)


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
