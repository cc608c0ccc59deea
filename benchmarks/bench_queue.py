"""The officer's work queue and the staff case search at volume (issue 23, ADR 0065): p95 of
the queue's first page, its next page (the page's own ``rel="next"`` link, whatever it carries)
and a deep page, and of a case search by business name, through the whole ASGI stack
in-process, on an already seeded database (``civicloom demo seed --applications N``).

``BENCH_QUEUE_URL`` (default: ``CIVICLOOM_DATABASE_URL``) names the database;
``BENCH_VOLUME_REQUESTS`` (default 30) the requests per path, after one warm-up.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

# ruff: noqa: E402 - after the path set-up above
import httpx

from benchmarks.bench_volume import p95
from civicloom.app import create_app
from civicloom.bootstrap import build_container
from civicloom.settings import Profile, Settings

HTML = {"Accept": "text/html"}
NEXT = re.compile(r'href="(/backoffice/tasks\?[^"]*)" rel="next"')


async def _next(client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> str:
    page = await client.get(path, headers=headers)
    found = NEXT.search(page.text)
    assert found is not None, f"{path} has a next page"
    return found.group(1).replace("&amp;", "&")


async def run(url: str, var_dir: Path) -> None:
    """Measure the queue's pages and two searches."""
    settings = Settings(profile=Profile.TEST, database_url=url, var_dir=var_dir)
    container = build_container(settings)
    app = create_app(container)
    olivia = {**HTML, "Authorization": "Bearer dev:olivia"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        second = await _next(client, "/backoffice/tasks", olivia)
        deep = second
        for _ in range(20):
            deep = await _next(client, deep, olivia)
        paths: list[tuple[str, Callable[[], Awaitable[httpx.Response]]]] = [
            ("queue, first page", lambda: client.get("/backoffice/tasks", headers=olivia)),
            ("queue, next page", lambda: client.get(second, headers=olivia)),
            ("queue, 22nd page", lambda: client.get(deep, headers=olivia)),
            (
                "case search 'golden kitchen' (~1 in 48)",
                lambda: client.get(
                    "/backoffice/cases", params={"q": "golden kitchen"}, headers=olivia
                ),
            ),
            (
                "case search 'zebra' (no match)",
                lambda: client.get("/backoffice/cases", params={"q": "zebra"}, headers=olivia),
            ),
        ]
        results = [(name, await p95(call)) for name, call in paths]
    for name, ms in results:
        print(f"{name:42} p95 {ms:8.1f} ms")
    await container.close()
    await container.database.dispose()


def main() -> None:
    """Run against the database named by the environment."""
    url = os.environ.get("BENCH_QUEUE_URL") or os.environ["CIVICLOOM_DATABASE_URL"]
    with tempfile.TemporaryDirectory() as var_dir:
        asyncio.run(run(url, Path(var_dir)))


if __name__ == "__main__":
    main()
