"""One headless Chromium per test module (a module may still define its own ``browser``), and
settings on a fresh SQLite copy for a site a whole module shares (both variants of a walk)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from civicloom.settings import Profile, Settings
from tests.browser.serving import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    """Headless Debian Chromium, launched once for the module; each walk opens its own context."""
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        await launched.close()


@pytest.fixture(scope="module")
def module_settings(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Settings:
    """Test-profile settings on a migrated SQLite copy of the module's own (browser tests run
    on SQLite: the database paths are covered by the integration tests)."""
    folder = tmp_path_factory.mktemp("site")
    shutil.copy(sqlite_template, folder / "civicloom.db")
    return Settings(
        profile=Profile.TEST,
        database_url=f"sqlite+aiosqlite:///{folder / 'civicloom.db'}",
        var_dir=folder / "var",
        log_json=True,
        max_body_bytes=64 * 1024,
    )
