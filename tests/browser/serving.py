"""The platform for browser tests: the app served by uvicorn on a free port, with the case
engine working in the background, over in-process departments chosen by the caller; and the one
page check every walk uses (``check_page``: axe-core WCAG 2.2 AA, no raw ids or JSON in the words
a person reads (on a Chinese page not even a one-word step id such as "payment", the blueprints'
step ids read from their files), no sideways scrolling, a screenshot saved as a test artefact).

Screenshots land in ``test-artifacts/screenshots/<test>/<name>-<lang>-<width>.png`` under the
project root (git-ignored), or under ``$CIVICLOOM_BROWSER_ARTEFACTS`` when it is set."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import re
import shutil
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from playwright.async_api import Browser, Page

from civicloom.app import create_app
from civicloom.applications import StepHandler, StepRunner
from civicloom.bootstrap import build_container
from civicloom.demo import load_demo
from civicloom.departments import CAPABILITY_GATEWAY, CapabilityGateway
from civicloom.runtime import Container
from civicloom.settings import PROJECT_ROOT, Settings
from tests.conftest import unavailable
from tests.english import step_ids_in
from tests.wiring import swap

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
ARTEFACTS = Path(
    os.environ.get("CIVICLOOM_BROWSER_ARTEFACTS") or PROJECT_ROOT / "test-artifacts/screenshots"
)
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"

# Words a person must never read: the ids behind departments, steps, states, roles, services and
# audit actions of the demo, written out by hand.
RAW_IDS = (
    "local-admin",
    "licensing_review",
    "inspection_routing",
    "zoning_check",
    "awaiting_officer",
    "awaiting_applicant",
    "dead_lettered",
    "application.read",
    "application.submitted",
    "task.claimed",
    "licensing-officer",
    "service-owner",
    "open-a-restaurant",
)
# e-mail addresses and web addresses carry ids legitimately (an officer's address); they are
# taken out of the text before looking for ids
ADDRESS = re.compile(r"\S+@\S+|https?://\S+|/[\w./{}-]+")
SNAKE = re.compile(r"\b[a-z]+_[a-z_]+\b")
# a database id (UUID) or a machine's JSON left in the page
UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
JSON = re.compile(r"[{\[]\s*\"[\w-]+\"\s*:")
# what a person reads in the page's main part; identifiers set as code (a capability's id in the
# API catalogue, the id a machine client calls) are shown on purpose and left out, as is text a
# department wrote in one language and marked so (a capability's technical description, lang=en)
WORDS_READ = """() => {
  const main = (document.querySelector('main') || document.body).cloneNode(true);
  main.querySelectorAll('code, .govuk-visually-hidden, [lang=en]').forEach((c) => c.remove());
  document.body.appendChild(main);
  const text = main.innerText;
  main.remove();
  return text;
}"""


@dataclass(frozen=True)
class Variant:
    """A language and a screen width a walk is made in."""

    lang: str  # the page's language: "en" or "zh-Hans"
    width: int

    @property
    def locale(self) -> str:
        """The browser's locale (its Accept-Language), which picks the page's language."""
        return "zh-CN" if self.lang == "zh-Hans" else "en-GB"

    @property
    def viewport(self) -> dict[str, int]:
        return {"width": self.width, "height": 900 if self.width > 400 else 812}


EN_DESKTOP = Variant("en", 1280)
ZH_PHONE = Variant("zh-Hans", 375)
# parametrize a walk over both: ``@pytest.mark.parametrize("variant", VARIANTS)``
VARIANTS = [pytest.param(EN_DESKTOP, id="en-1280"), pytest.param(ZH_PHONE, id="zh-375")]


@functools.cache
def axe_source() -> str:
    """axe-core, read once (installed by `make assets`)."""
    return AXE.read_text()


async def axe_violations(page: Page) -> list[str]:
    """axe-core's WCAG 2.2 AA violations on the page, one line each."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.evaluate(axe_source())
    result = await page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})",
        AXE_TAGS,
    )
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
    ]


async def check_accessibility(page: Page, visited: list[str]) -> None:
    """Run axe-core (WCAG 2.2 AA rule sets) on the page; fail on any violation."""
    violations = await axe_violations(page)
    visited.append(page.url)
    assert violations == [], f"axe on {page.url}: {violations}"


def raw_words(text: str, lang: str = "en") -> list[str]:
    """The ids, database ids and JSON keys in what a person reads (addresses taken out); on a
    page in Chinese (``lang``) also a step id of the demo's blueprints standing as a word of its
    own ("payment"), which an English page may use as the word it is."""
    text = ADDRESS.sub(" ", text)
    found = {raw for raw in RAW_IDS if raw in text} | set(SNAKE.findall(text))
    found |= set(UUID.findall(text)) | set(JSON.findall(text))
    if lang.startswith("zh"):
        found |= set(step_ids_in(text))
    return sorted(found)


def _test_name() -> str:
    current = os.environ.get("PYTEST_CURRENT_TEST", "unknown::unknown")
    return current.split("::")[-1].split(" ")[0].split("[")[0]


async def check_page(
    page: Page, name: str, visited: list[str] | None = None, problems: list[str] | None = None
) -> str:
    """Check the page as a person meets it and keep a screenshot of it; return what they read.

    axe-core (WCAG 2.2 AA) finds no violation, the words read hold no raw id (on a Chinese page
    no step id even of one word), database id or JSON, the page does not scroll sideways; the
    screenshot goes to ``ARTEFACTS/<test>/<name>-<lang>-<width>.png``. With ``problems`` every
    problem is noted there (so one run names them all); without, the first one fails the test."""
    found: list[str] = [f"axe on {page.url}: {v}" for v in await axe_violations(page)]
    text = str(await page.evaluate(WORDS_READ))
    lang = await page.evaluate("document.documentElement.lang") or "none"
    raw = raw_words(text, lang)
    if raw:
        clean = ADDRESS.sub(" ", text)
        where = [clean[max(0, clean.find(f) - 40) : clean.find(f) + 40] for f in raw]
        found.append(f"{page.url} shows ids instead of words: {raw} {where}")
    if not await page.evaluate(NO_SIDEWAYS_SCROLL):
        found.append(f"{page.url} scrolls sideways at {page.viewport_size}")
    width = (page.viewport_size or {"width": 0})["width"]
    if visited is not None:  # numbered in the order of the walk
        name = f"{len(visited) + 1:02d}-{name}"
    folder = ARTEFACTS / _test_name()
    folder.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(folder / f"{name}-{lang}-{width}.png"), full_page=True)
    if visited is not None:
        visited.append(page.url)
    if problems is None:
        assert found == [], found
    else:
        problems.extend(found)
    return text


async def new_page(
    browser: Browser, variant: Variant, *, javascript: bool = True, downloads: bool = False
) -> Page:
    """A fresh page (its own cookies) in the variant's language and width."""
    context = await browser.new_context(
        viewport=variant.viewport,  # type: ignore[arg-type]
        locale=variant.locale,
        java_script_enabled=javascript,
        accept_downloads=downloads,
    )
    return await context.new_page()


async def signed_in(
    browser: Browser, base: str, persona: str, variant: Variant, path: str, until: str = ""
) -> Page:
    """A fresh page in the variant, signed in as a demo persona (dev login), landed on ``path``
    (or on the URL glob ``until``)."""
    page = await new_page(browser, variant)
    await sign_in_as(page, base, persona, path, until)
    return page


async def sign_in_as(page: Page, base: str, persona: str, path: str, until: str = "") -> None:
    """Sign the page in afresh as a demo persona (dev login) and land on ``path`` (or on the URL
    glob ``until``)."""
    await page.context.clear_cookies()
    await page.goto(f"{base}/auth/dev-login?next={path}")
    await page.click(f"button[data-persona={persona}]")
    await page.wait_for_url(until or f"{base}{path}")


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
