"""The work queue, keyset-paged (issue 23, ADR 0065): attacks first (another department's
officer, a citizen, a forged cursor, a cursor replayed after its task was decided), then the
paging itself through the API and the page, with the order written out by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from civicloom.applications import StepRunner
from civicloom.applications.tables import TaskRow
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.backoffice.world import drain, submit, task_of

PROBLEM = "application/problem+json"
ELENA = as_persona("elena")
# Each inspection's due date, set by hand: (submission key, due), in the queue's order.
DUE = [
    ("kq-a", datetime(2027, 1, 4, 9, 0, tzinfo=UTC)),
    ("kq-b", datetime(2027, 1, 5, 9, 0, tzinfo=UTC)),
    ("kq-c", datetime(2027, 1, 5, 9, 0, tzinfo=UTC)),  # same instant as kq-b: id breaks the tie
    ("kq-d", None),  # no due date: last
]


async def _queue(container: Container, runner: StepRunner) -> dict[str, str]:
    """Four inspections in Elena's queue with the due dates above: task id by key."""
    apps = {key: await submit(container, key, seating=60) for key, _ in DUE}
    await drain(runner)
    tasks = {key: (await task_of(container, app, "inspection")).id for key, app in apps.items()}
    async with container.uow() as uow:  # test set-up only: the due dates written out above
        for key, due in DUE:
            row = await uow.session.get(TaskRow, tasks[key])
            assert row is not None
            assert row.state == "awaiting_officer"
            row.sla_due_at = due
        await uow.commit()
    return tasks


def _links(response: httpx.Response) -> dict[str, str]:
    """``rel`` -> cursor of the Link header."""
    out: dict[str, str] = {}
    for part in filter(None, response.headers.get("link", "").split(", ")):
        target, rel = part.split("; ")
        query = parse_qs(urlsplit(target.strip("<>")).query)
        out[rel.removeprefix('rel="').removesuffix('"')] = query["cursor"][0]
    return out


def _ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [t["id"] for t in response.json()]


def _in_order(tasks: dict[str, str]) -> list[str]:
    """The queue's order: due date, then id (kq-b and kq-c share their due date)."""
    b, c = sorted([tasks["kq-b"], tasks["kq-c"]])
    return [tasks["kq-a"], b, c, tasks["kq-d"]]


# -- attacks ----------------------------------------------------------------------------------


async def test_another_departments_officer_cannot_use_a_queue_cursor(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    tasks = await _queue(container, runner)
    first = await client.get("/api/v1/tasks?limit=2", headers=ELENA)
    cursor = _links(first)["next"]
    # Lars (labour) with Elena's cursor: refused, naming the cursor; nothing of hers shown
    for who in ("lars", "olivia"):
        api = await client.get(f"/api/v1/tasks?limit=2&cursor={cursor}", headers=as_persona(who))
        assert api.status_code == 400, (who, api.text)
        assert api.headers["content-type"] == PROBLEM
        body = api.json()
        assert body["type"].endswith("/problems/invalid-cursor")
        assert [(e["field"], e["rule"]) for e in body["errors"]] == [("cursor", "cursor")]
        page = await client.get(
            f"/backoffice/tasks?cursor={cursor}",
            headers={**as_persona(who), "Accept": "text/html"},
        )
        assert page.status_code == 400
        assert page.headers["content-type"].startswith("text/html")
        assert not any(task in page.text + api.text for task in tasks.values())
    # the same cursor under other filters of Elena's own queue is refused too
    other = await client.get(f"/api/v1/tasks?limit=2&sla=breached&cursor={cursor}", headers=ELENA)
    assert other.status_code == 400


async def test_a_citizen_has_no_queue_whatever_the_cursor(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    await _queue(container, runner)
    cursor = _links(await client.get("/api/v1/tasks?limit=2", headers=ELENA))["next"]
    alice = as_persona("alice")
    api = await client.get(f"/api/v1/tasks?cursor={cursor}", headers=alice)
    assert api.status_code == 403
    assert api.headers["content-type"] == PROBLEM
    page = await client.get(
        f"/backoffice/tasks?cursor={cursor}", headers={**alice, "Accept": "text/html"}
    )
    assert page.status_code == 403


@pytest.mark.parametrize(
    "forged",
    [
        "not-a-cursor",
        "WyJhZnRlciIsbnVsbCwiMDAwIl0",  # ["after",null,"000"] without a signature
        "WyJhZnRlciIsbnVsbCwiMDAwIl0.AAAAAAAAAAAAAAAAAAAAAA",  # with a made-up one
        "",  # an empty signature after the dot below
    ],
)
async def test_a_forged_cursor_is_refused_naming_it(
    container: Container, runner: StepRunner, client: httpx.AsyncClient, forged: str
) -> None:
    tasks = await _queue(container, runner)
    real = _links(await client.get("/api/v1/tasks?limit=2", headers=ELENA))["next"]
    payload, _, signature = real.partition(".")
    if not forged:  # the real position with its signature cut off, and one character changed
        forged = payload + "."
    for cursor in (forged, payload[:-1] + ("A" if payload[-1] != "A" else "B") + "." + signature):
        api = await client.get("/api/v1/tasks", params={"cursor": cursor}, headers=ELENA)
        assert api.status_code == 400, api.text
        assert [(e["field"], e["rule"]) for e in api.json()["errors"]] == [("cursor", "cursor")]
        page = await client.get(
            "/backoffice/tasks", params={"cursor": cursor}, headers={**ELENA, "Accept": "text/html"}
        )
        assert page.status_code == 400
        assert "govuk-template" in page.text or "govuk-" in page.text
        assert not any(task in page.text for task in tasks.values())


async def test_a_cursor_replayed_after_its_task_was_decided_still_pages(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    tasks = await _queue(container, runner)
    order = _in_order(tasks)
    first = await client.get("/api/v1/tasks?limit=2", headers=ELENA)
    assert _ids(first) == order[:2]
    cursor = _links(first)["next"]
    # the task the cursor points after, and the next one, are decided meanwhile
    for task in (order[1], order[2]):
        assert (await client.post(f"/api/v1/tasks/{task}/claim", headers=ELENA)).status_code == 200
        decided = await client.post(
            f"/api/v1/tasks/{task}/decision", json={"decision": "approve"}, headers=ELENA
        )
        assert decided.status_code == 200, decided.text
    replayed = await client.get(f"/api/v1/tasks?limit=2&cursor={cursor}", headers=ELENA)
    assert _ids(replayed) == [order[3]]  # the position holds; decided tasks are not shown
    assert _links(replayed).keys() == {"prev"}


# -- paging -----------------------------------------------------------------------------------


async def test_the_api_pages_forward_and_back_in_due_order(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    tasks = await _queue(container, runner)
    order = _in_order(tasks)
    first = await client.get("/api/v1/tasks?limit=2", headers=ELENA)
    assert _ids(first) == order[:2]
    assert _links(first).keys() == {"next"}
    second = await client.get(
        f"/api/v1/tasks?limit=2&cursor={_links(first)['next']}", headers=ELENA
    )
    assert _ids(second) == order[2:]  # the one without a due date comes last
    assert _links(second).keys() == {"prev"}
    back = await client.get(f"/api/v1/tasks?limit=2&cursor={_links(second)['prev']}", headers=ELENA)
    assert _ids(back) == order[:2]
    # one at a time across the tie and into the task without a due date, and back again
    seen, cursor = [], None
    while True:
        got = await client.get(
            "/api/v1/tasks",
            params={"limit": 1, **({"cursor": cursor} if cursor else {})},
            headers=ELENA,
        )
        seen += _ids(got)
        cursor = _links(got).get("next")
        if cursor is None:
            break
    assert seen == order
    last = _links(got)["prev"]
    back_one = await client.get(f"/api/v1/tasks?limit=1&cursor={last}", headers=ELENA)
    assert _ids(back_one) == [order[2]]
    from_null = await client.get(
        f"/api/v1/tasks?limit=3&cursor={last}", headers=ELENA
    )  # before the task without a due date: the three that have one
    assert _ids(from_null) == order[:3]
    # the deprecated offset still answers
    assert _ids(await client.get("/api/v1/tasks?limit=2&offset=2", headers=ELENA)) == order[2:]


async def test_the_page_links_previous_and_next_with_filters_kept(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    tasks = await _queue(container, runner)
    order = _in_order(tasks)
    html = {**ELENA, "Accept": "text/html"}
    page = await client.get("/backoffice/tasks?service=open-a-restaurant", headers=html)
    assert page.status_code == 200
    assert "4 open tasks" in page.text
    assert 'rel="next"' not in page.text  # one page of 25
    assert 'rel="prev"' not in page.text
    api = await client.get("/api/v1/tasks?limit=2&service=open-a-restaurant", headers=ELENA)
    cursor = _links(api)["next"]
    second = await client.get(
        f"/backoffice/tasks?service=open-a-restaurant&cursor={cursor}", headers=html
    )
    assert second.status_code == 200
    assert [t for t in order if f'data-task="{t}"' in second.text] == order[2:]
    assert 'rel="prev"' in second.text
    assert "/backoffice/tasks?service=open-a-restaurant&cursor=" in second.text
