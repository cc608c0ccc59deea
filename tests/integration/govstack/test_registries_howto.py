"""docs/how-to/read-registers-through-digital-registries.md, followed as written (ADR 0031):
its shell block issues the key, each request block goes to the GovStack listener with that key
and its answer is compared with the response block after it."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.howtos import Snippet, apply, snippets
from tests.integration.govstack.registries_world import World, registries_world

PAGE = (
    Path(__file__).resolve().parents[3] / "docs/how-to/read-registers-through-digital-registries.md"
)
IM = {"Information-Mediator-Client": "CL/GOV/local-admin/licensing"}


@pytest.fixture
async def world(container: Container, client: httpx.AsyncClient) -> AsyncIterator[World]:
    async with registries_world(container, client) as built:
        yield built


def request_of(snippet: Snippet) -> tuple[str, str, object]:
    line, _, body = snippet.text.partition("\n")
    method, path = line.split()
    return method, path, json.loads(body) if body.strip() else None


async def test_the_page_as_written(world: World, project_root: Path) -> None:
    blocks = snippets(PAGE)
    assert [b.title for b in blocks] == [
        "shell",
        "request",
        "response",
        "request",
        "response",
        "person",
    ]
    settings = world.container.settings
    env = {
        **os.environ,
        "CIVICLOOM_PROFILE": "test",
        "CIVICLOOM_DATABASE_URL": settings.database_url,
        "CIVICLOOM_VAR_DIR": str(settings.var_dir),
    }
    (output,) = apply(blocks[0], project_root, env)
    key = next(line.strip() for line in output.splitlines() if line.strip().startswith("cl_"))
    await world.alice_consents()  # the portal's consent page, as the page says

    headers = {"api_key": key, **IM}
    for request, response in ((blocks[1], blocks[2]), (blocks[3], blocks[4])):
        method, path, body = request_of(request)
        answer = await world.gs.request(method, path, json=body, headers=headers)
        status, _, expected = response.text.partition("\n")
        assert answer.status_code == int(status), answer.text
        if expected.strip():
            assert answer.json() == json.loads(expected)
    assert [c.capability for c in world.registers.calls] == ["local-admin.business_lookup"]

    method, path, _ = request_of(blocks[5])
    usage = await world.gs.request(method, path, headers=as_persona("alice"))
    assert usage.status_code == 200, usage.text
    assert [(u["readerInstitutionId"], u["readerInstitutionName"]) for u in usage.json()] == [
        ("local-admin", "Local Administration")
    ]
