"""A citizen signs in through the real OpenID provider in Chromium; the dev login in a browser."""

from __future__ import annotations

import asyncio
import shutil
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from playwright.async_api import Browser, async_playwright
from pydantic import SecretStr

from civicloom.app import create_app
from civicloom.bootstrap import build_container
from civicloom.demo import load_demo
from civicloom.settings import Settings
from tests.browser.serving import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import unavailable
from tests.oidc.harness import CLIENT_ID, CLIENT_SECRET, provider_available, run_provider

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class Site:
    """The app served over real HTTP, trusting a real provider."""

    base: str
    issuer: str


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """Browser tests run on SQLite only: the database paths are covered elsewhere."""
    return str(request.param)


@pytest.fixture
async def site(settings: Settings) -> AsyncIterator[Site]:
    """uvicorn on a free port + the OIDC provider redirecting to it."""
    reason = provider_available()
    if reason:
        unavailable("the OpenID provider", RuntimeError(reason))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with run_provider([f"{base}/auth/callback/citizen"], [f"{base}/"]) as provider:
        configured = settings.model_copy(
            update={
                "public_url": base,
                "oidc_citizen_issuer": provider.issuer,
                "oidc_citizen_client_id": CLIENT_ID,
                "oidc_citizen_client_secret": SecretStr(CLIENT_SECRET),
            }
        )
        container = build_container(configured)
        await load_demo(container, progress=lambda _: None)
        server = uvicorn.Server(
            uvicorn.Config(create_app(container), log_config=None, access_log=False, lifespan="on")
        )
        task = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            deadline = time.monotonic() + 15
            async with httpx.AsyncClient() as http:
                while True:
                    try:
                        if (await http.get(f"{base}/healthz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    assert time.monotonic() < deadline, "the app did not start"
                    await asyncio.sleep(0.05)
            yield Site(base=base, issuer=provider.issuer)
        finally:
            server.should_exit = True
            await task
            sock.close()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Debian Chromium."""
    if shutil.which(CHROMIUM) is None:
        unavailable("Chromium", FileNotFoundError(CHROMIUM))
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        await b.close()


async def test_citizen_signs_in_and_out_at_the_provider(site: Site, browser: Browser) -> None:
    page = await browser.new_page()
    await page.goto(f"{site.base}/auth/login?audience=citizen&next=/auth/signed-in")
    assert page.url.startswith(site.issuer)  # at the identity provider now
    await page.fill("input[name=login]", "carol")
    await page.fill("input[name=password]", "any password")
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{site.base}/auth/signed-in")
    assert await page.text_content("#who") == "Test carol"
    cookies = {c["name"]: c for c in await page.context.cookies(site.base)}
    assert cookies["civicloom_session"]["httpOnly"]
    assert cookies["civicloom_session"]["sameSite"] == "Lax"

    me = await page.goto(f"{site.base}/auth/me")
    assert me is not None
    assert (await me.json())["roles"] == ["citizen"]

    await page.goto(f"{site.base}/auth/signed-in")
    await page.click("text=Sign out")
    await page.wait_for_url(f"{site.issuer}/session/end**")  # RP-initiated logout
    await page.click("button[type=submit], [autofocus]")
    await page.wait_for_url(f"{site.base}/**")
    after = await page.goto(f"{site.base}/auth/me")
    assert after is not None
    assert after.status == 401


async def test_dev_login_is_marked_and_works(site: Site, browser: Browser) -> None:
    page = await browser.new_page()
    await page.goto(f"{site.base}/auth/dev-login?next=/auth/signed-in")
    banner = await page.text_content("[role=alert]")
    assert banner is not None
    assert "DEVELOPMENT LOGIN — demo personas" in banner
    await page.click("button[data-persona=alice]")
    await page.wait_for_url(f"{site.base}/auth/signed-in")
    assert await page.text_content("#who") == "Alice Chen"
