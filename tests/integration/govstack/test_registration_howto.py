"""docs/how-to/connect-a-registration-front-office.md works as written (ADR 0031).

The key is issued with the arguments of the page's ``civicloom apikeys create`` line, then
every ``http call="…"`` block is sent in order to the GovStack listener (in-process, SQLite and
PostgreSQL), placeholders filled from the earlier answers.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl

import httpx
import pytest

from civicloom.identity import create_api_key
from civicloom.kpis import refresh_service_days
from civicloom.runtime import Container
from civicloom.settings import PROJECT_ROOT
from tests.integration.govstack.registration_world import World, open_world
from tests.unit.documents import samples

PAGE = PROJECT_ROOT / "docs" / "how-to" / "connect-a-registration-front-office.md"
CALL = re.compile(r'^```http call="(?P<name>[a-z]+)"\n(?P<body>.*?)^```$', re.MULTILINE | re.DOTALL)
SHELL = re.compile(r"^```shell\n(?P<body>civicloom apikeys create .*?)\n```$", re.MULTILINE)


@pytest.fixture
async def world(container: Container) -> AsyncIterator[World]:
    """The GovStack listener with the Registration fixtures loaded."""
    async with open_world(container) as opened:
        yield opened


async def issue_key(world: World, text: str) -> str:
    """The page's ``civicloom apikeys create`` line, through the same use case."""
    match = SHELL.search(text)
    assert match is not None
    words = shlex.split(match["body"])
    options: dict[str, list[str]] = {}
    for flag, value in zip(words[3::2], words[4::2], strict=True):
        options.setdefault(flag, []).append(value)
    issued = await create_api_key(
        world.container.uow(),
        world.container.clock,
        name=options["--name"][0],
        department=options["--department"][0],
        scopes=options["--scope"],
    )
    return issued.key


def request_of(block: str, fill: dict[str, str]) -> tuple[str, str, dict[str, str], str]:
    """Method, path, headers and body of an HTTP block, placeholders filled."""
    for placeholder, value in fill.items():
        block = block.replace(placeholder, value)
    head, _, body = block.partition("\n\n")
    first, *header_lines = head.splitlines()
    method, target = first.split(" ", 1)
    headers = dict(line.split(": ", 1) for line in header_lines)
    return method, target, headers, body.strip()


async def send(
    world: World, method: str, target: str, headers: dict[str, str], body: str
) -> httpx.Response:
    path, _, query = target.partition("?")
    params = httpx.QueryParams(dict(parse_qsl(query)))
    if headers.get("Content-Type") == "multipart/form-data":
        del headers["Content-Type"]  # the client writes it, with the boundary
        field, _, name = body.partition("=@")
        files = {field: (name, samples.pdf("Birth certificate"), "application/pdf")}
        return await world.http.request(method, path, params=params, headers=headers, files=files)
    content = body.encode() if body else None
    if content:
        headers["Content-Type"] = "application/json"
    return await world.http.request(method, path, params=params, headers=headers, content=content)


async def test_the_front_office_howto_works_as_written(world: World) -> None:
    text = PAGE.read_text(encoding="utf-8")
    fill = {
        "<your key>": await issue_key(world, text),
        "<the registrar's token>": "dev:olivia",  # a licensing officer of local-admin
    }
    answers: dict[str, httpx.Response] = {}
    for match in CALL.finditer(text):
        if match["name"] == "statistics":
            # the page: figures count from the worker's next recount (its periodic job)
            await refresh_service_days(world.container.uow())
        method, target, headers, body = request_of(match["body"], fill)
        response = await send(world, method, target, headers, body)
        assert response.status_code == 200, (match["name"], response.text)
        answers[match["name"]] = response
        if match["name"] == "submit":
            fill["<fileId>"] = response.json()["fileId"]
        if match["name"] == "tasks":
            fill["<taskId>"] = response.json()[0]["taskId"]

    assert list(answers) == [
        "services",
        "eform",
        "submit",
        "document",
        "read",
        "tasks",
        "decide",
        "statistics",
    ]
    assert [s["name"] for s in answers["services"].json()] == ["Mother and Child Registration"]
    assert answers["submit"].json()["status"]["code"] == "PENDING"
    assert answers["document"].json()["type"] == "birth-certificate"
    assert answers["read"].json()["applicationData"]["applicantId"] == "citizen-000123"
    assert answers["decide"].json()["status"] == {"code": "APPROVED", "title": "Approved"}
    [figures] = answers["statistics"].json()
    assert (figures["processed"], figures["approved"]) == (2, 1)  # the fixture's file and ours
