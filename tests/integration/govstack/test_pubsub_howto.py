"""docs/how-to/publish-and-subscribe-through-the-information-mediator.md, followed as written
(ADR 0031): its shell block registers the client and its room through the CLI, each request
block goes to the GovStack listener with that key and its answer is compared with the response
block after it; then the event fetched is acknowledged as the page says."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx

from civicloom.runtime import Container
from tests.howtos import Snippet, apply, snippets

PAGE = (
    Path(__file__).resolve().parents[3]
    / "docs/how-to/publish-and-subscribe-through-the-information-mediator.md"
)
ROOM = "civicloom/GOV/local-admin/births"


def request_of(snippet: Snippet) -> tuple[str, str, object]:
    line, _, body = snippet.text.partition("\n")
    method, path = line.split()
    return method, path, json.loads(body) if body.strip() else None


async def test_the_page_as_written(
    container: Container, gs_client: httpx.AsyncClient, project_root: Path
) -> None:
    blocks = snippets(PAGE)
    assert [b.title for b in blocks] == ["shell"] + ["request", "response"] * 4
    settings = container.settings
    env = {
        **os.environ,
        "CIVICLOOM_PROFILE": "test",
        "CIVICLOOM_DATABASE_URL": settings.database_url,
        "CIVICLOOM_VAR_DIR": str(settings.var_dir),
    }
    created, registered, *_, allowed = apply(blocks[0], project_root, env)
    key = next(line.strip() for line in created.splitlines() if line.strip().startswith("cl_"))
    assert f"registered {ROOM}" in registered
    assert allowed.strip() == f"inspections may subscribe to {ROOM}"

    headers = {"api_key": key, "Information-Mediator-Client": ROOM}
    answers = []
    for request, response in zip(blocks[1::2], blocks[2::2], strict=True):
        method, path, body = request_of(request)
        answer = await gs_client.request(method, path, json=body, headers=headers)
        status, _, expected = response.text.partition("\n")
        assert answer.status_code == int(status), answer.text
        if expected.strip():
            assert answer.json() == json.loads(expected)
        answers.append(answer.json())
    published, fetched = answers[2], answers[3]
    assert fetched["id"] == published["id"]
    assert fetched["event"] == {"mother": "Jane Doe", "place": "City Hospital"}
    pull = f"/r1/{ROOM}/pull/v1/newBirth"
    acknowledged = await gs_client.delete(f"{pull}/{fetched['id']}", headers=headers)
    assert acknowledged.status_code == 204
    assert (await gs_client.get(pull, headers=headers)).status_code == 404
