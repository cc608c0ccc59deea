"""The operator's dead letters are keyset-paged (issue 23): newest first, a `Link` header to the
next and previous pages, a bad cursor is a problem naming `cursor`, and only operators read
them, whatever cursor anyone else sends."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select

from civicloom.applications.tables import DeadLetterRow, TaskRow
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.test_applications_api import restaurant

PRIYA = as_persona("priya")
URL = "/api/v1/operations/dead-letters"


async def _letters(client: httpx.AsyncClient, container: Container) -> list[str]:
    """Five dead letters of one real application's first step, a minute apart (newest last),
    and one already resolved."""
    sent = await client.post("/api/v1/applications", json=restaurant(), headers=as_persona("alice"))
    assert sent.status_code == 201, sent.text
    at = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
    async with container.uow() as uow:
        task = (
            await uow.session.scalars(
                select(TaskRow).where(TaskRow.application_id == sent.json()["id"]).limit(1)
            )
        ).one()
        for n in range(6):
            uow.session.add(
                DeadLetterRow(
                    id=f"00000000-0000-0000-0000-00000000000{n}",
                    task_id=task.id,
                    application_id=task.application_id,
                    department="health",
                    capability="inspection.book",
                    attempts=5,
                    error="timed out",
                    payload_summary={},
                    created_at=at + timedelta(minutes=n),
                    resolved_at=at if n == 5 else None,
                    resolution="abandoned" if n == 5 else None,
                )
            )
        await uow.commit()
    return [f"00000000-0000-0000-0000-00000000000{n}" for n in range(5)]


def _link(response: httpx.Response, rel: str) -> str | None:
    found = re.search(rf'<([^>]+)>; rel="{rel}"', response.headers.get("link", ""))
    return None if found is None else found.group(1)


async def test_pages_newest_first_with_next_and_previous_links(
    client: httpx.AsyncClient, container: Container
) -> None:
    ids = await _letters(client, container)
    first = await client.get(f"{URL}?limit=2", headers=PRIYA)
    assert first.status_code == 200
    assert [d["id"] for d in first.json()] == [ids[4], ids[3]]
    assert _link(first, "prev") is None
    second_url = _link(first, "next")
    assert second_url is not None
    second = await client.get(second_url, headers=PRIYA)
    assert [d["id"] for d in second.json()] == [ids[2], ids[1]]
    third = await client.get(str(_link(second, "next")), headers=PRIYA)
    assert [d["id"] for d in third.json()] == [ids[0]]
    assert _link(third, "next") is None
    back = await client.get(str(_link(second, "prev")), headers=PRIYA)
    assert [d["id"] for d in back.json()] == [ids[4], ids[3]]
    everything = await client.get(f"{URL}?include_resolved=true&limit=10", headers=PRIYA)
    assert len(everything.json()) == 6


async def test_a_bad_cursor_is_a_problem_naming_the_field(
    client: httpx.AsyncClient, container: Container
) -> None:
    await _letters(client, container)
    bad = await client.get(f"{URL}?cursor=eyJub3QiOiJhIGN1cnNvciJ9", headers=PRIYA)
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["errors"][0]["field"] == "cursor"
    assert bad.json()["errors"][0]["rule"] == "cursor"
    too_many = await client.get(f"{URL}?limit=501", headers=PRIYA)
    assert too_many.status_code == 422


async def test_only_operators_page_through_dead_letters(
    client: httpx.AsyncClient, container: Container
) -> None:
    await _letters(client, container)
    first = await client.get(f"{URL}?limit=2", headers=PRIYA)
    following = str(_link(first, "next"))
    for persona in ("olivia", "alice", "ada"):
        refused = await client.get(following, headers=as_persona(persona))
        assert refused.status_code == 403
    assert (await client.get(following)).status_code == 401
