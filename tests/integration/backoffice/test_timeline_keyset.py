"""An application's timeline, keyset-paged newest first (issue 23, ADR 0075), wherever a person
or a client reads it: the status API, the citizen's application page and the officer's task
page. One long case per test: after the engine's own entries, the test writes (set-up only)
120 entries the applicant sees, 30 internal ones of the inspecting department, 10 internal
ones and 5 questions of another department, in this order (ids ascending):

    E001..E030, X01..X10, E031..E060, H01..H30, E061..E090, Y01..Y05, E091..E120

E: environment asks the applicant (seen by her and by Elena, the environment inspector);
H: environment, internal (Elena only); X: labour, internal (nobody here); Y: labour asks the
applicant (Alice sees them; Elena does not: another department's free text).

Attacks first (another citizen, a cursor of another application or of the staff view, an
altered cursor, another department's officer), then the pages with the order written out."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import ClauseElement, text
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.applications import StepRunner, TimelineQuery
from civicloom.applications.queries import timeline_page_statement
from civicloom.applications.tables import TimelineRow
from civicloom.backoffice.queries import task_timeline
from civicloom.kernel import Position
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.backoffice.world import drain, submit, task_of
from tests.querycount import counting

PROBLEM = "application/problem+json"
ALICE = as_persona("alice")
ELENA = as_persona("elena")
PAGE = {"Accept": "text/html"}
START = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
# (mark, department, seen by the applicant, event), in the order they are written
ENTRIES = (
    [(f"E{n:03d}", "environment", True, "information.requested") for n in range(1, 31)]
    + [(f"X{n:02d}", "labour", False, "case.note") for n in range(1, 11)]
    + [(f"E{n:03d}", "environment", True, "information.requested") for n in range(31, 61)]
    + [(f"H{n:02d}", "environment", False, "case.note") for n in range(1, 31)]
    + [(f"E{n:03d}", "environment", True, "information.requested") for n in range(61, 91)]
    + [(f"Y{n:02d}", "labour", True, "information.requested") for n in range(1, 6)]
    + [(f"E{n:03d}", "environment", True, "information.requested") for n in range(91, 121)]
)
MARK = re.compile(r"mark ([EHXY]\d+)")


def _e(first: int, last: int) -> list[str]:
    """E<first> down to E<last>, newest first."""
    return [f"E{n:03d}" for n in range(first, last - 1, -1)]


def _h(first: int, last: int) -> list[str]:
    return [f"H{n:02d}" for n in range(first, last - 1, -1)]


def _y(first: int, last: int) -> list[str]:
    return [f"Y{n:02d}" for n in range(first, last - 1, -1)]


async def _long_case(container: Container, runner: StepRunner) -> tuple[str, str]:
    """Alice's restaurant (the environment inspects it) with the entries above: (application
    id, Elena's inspection task id)."""
    app_id = await submit(container, "timeline-long", seating=60)
    await drain(runner)
    task = await task_of(container, app_id, "inspection")
    assert task.state == "awaiting_officer"
    async with container.uow() as uow:  # test set-up only: a case that ran for a long time
        for n, (mark, department, seen, event) in enumerate(ENTRIES):
            uow.session.add(
                TimelineRow(
                    application_id=app_id,
                    at=START + timedelta(minutes=n),
                    event=event,
                    step_id="inspection" if department == "environment" else None,
                    department=department,
                    message=f"mark {mark}",
                    visible_to_applicant=seen,
                )
            )
        await uow.commit()
    return app_id, task.id


def _portal_marks(html: str) -> list[str]:
    found = re.search(r'<ol class="civicloom-timeline" id="timeline"[^>]*>(.*?)</ol>', html, re.S)
    assert found, html[:2000]
    return MARK.findall(found[1])


def _task_marks(html: str) -> list[str]:
    found = re.search(r'<ol class="govuk-list" id="timeline"[^>]*>(.*?)</ol>', html, re.S)
    assert found, html[:2000]
    return MARK.findall(found[1])


def _page_links(html: str) -> dict[str, str]:
    """rel -> cursor of the timeline's Previous/Next links."""
    nav = re.search(r'<nav [^>]*id="timeline-pages">(.*?)</nav>', html, re.S)
    if not nav:
        return {}
    return {
        rel: parse_qs(urlsplit(href.replace("&amp;", "&")).query)["cursor"][0]
        for href, rel in re.findall(r'href="([^"]+)" rel="(next|prev)"', nav[1])
    }


def _api_marks(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [m for e in response.json()["timeline"] for m in MARK.findall(e["message"])]


def _altered(cursor: str) -> str:
    """The cursor with one character of its position changed (its signature kept)."""
    payload, _, signature = cursor.partition(".")
    return payload[:-1] + ("A" if payload[-1] != "A" else "B") + "." + signature


# -- attacks ----------------------------------------------------------------------------------


async def test_nobody_pages_a_timeline_that_is_not_theirs(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    app_id, task_id = await _long_case(container, runner)
    status = f"/api/v1/applications/{app_id}/status"
    first = await client.get(status, headers=ALICE)
    cursor = first.json()["timeline_next"]
    assert cursor
    task_page = await client.get(f"/backoffice/tasks/{task_id}", headers={**ELENA, **PAGE})
    staff_cursor = _page_links(task_page.text)["next"]

    # Bob, another citizen, with Alice's cursor: not found, exactly as without one
    bob = as_persona("bob")
    for params in ({}, {"cursor": cursor}):
        api = await client.get(status, params=params, headers=bob)
        assert api.status_code == 404, api.text
        assert api.headers["content-type"] == PROBLEM
        page = await client.get(f"/applications/{app_id}", params=params, headers={**bob, **PAGE})
        assert page.status_code == 404
        assert not MARK.search(api.text + page.text)

    # Alice's cursor of this application on her other application: refused, naming the cursor
    other = await submit(container, "timeline-other")
    api = await client.get(
        f"/api/v1/applications/{other}/status", params={"cursor": cursor}, headers=ALICE
    )
    assert api.status_code == 400, api.text
    assert api.headers["content-type"] == PROBLEM
    assert api.json()["type"].endswith("/problems/invalid-cursor")
    assert [(e["field"], e["rule"]) for e in api.json()["errors"]] == [("cursor", "cursor")]
    page = await client.get(f"/applications/{other}", params={"cursor": cursor}, headers=ALICE)
    assert page.status_code == 400
    assert 'data-error-status="400"' in page.text
    assert f'href="/applications/{other}#timeline-heading"' in page.text

    # the staff view's cursor in the citizen's hands, an altered one, one without a signature
    for forged in (staff_cursor, _altered(cursor), cursor.partition(".")[0], "not-a-cursor"):
        api = await client.get(status, params={"cursor": forged}, headers=ALICE)
        assert api.status_code == 400, (forged, api.text)
        assert [(e["field"], e["rule"]) for e in api.json()["errors"]] == [("cursor", "cursor")]
        page = await client.get(f"/applications/{app_id}", params={"cursor": forged}, headers=ALICE)
        assert page.status_code == 400, forged
        assert "govuk-" in page.text
        assert not MARK.search(api.text + page.text)

    # the citizen's cursor, or an altered staff one, on Elena's task page: a styled 400 page
    for forged in (cursor, _altered(staff_cursor)):
        page = await client.get(
            f"/backoffice/tasks/{task_id}", params={"cursor": forged}, headers={**ELENA, **PAGE}
        )
        assert page.status_code == 400, forged
        assert 'data-error-status="400"' in page.text
        assert f'href="/backoffice/tasks/{task_id}#timeline-heading"' in page.text
        assert not MARK.search(page.text)

    # Lars (labour) may not open Elena's task: with her cursor he gets what he gets without it
    lars = {**as_persona("lars"), **PAGE}
    plain = await client.get(f"/backoffice/tasks/{task_id}", headers=lars)
    with_cursor = await client.get(
        f"/backoffice/tasks/{task_id}", params={"cursor": staff_cursor}, headers=lars
    )
    assert plain.status_code == with_cursor.status_code == 404
    assert not MARK.search(plain.text + with_cursor.text)


# -- paging -----------------------------------------------------------------------------------


async def test_the_citizen_pages_fifty_at_a_time_and_never_sees_internal_entries(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    app_id, _ = await _long_case(container, runner)
    url = f"/applications/{app_id}"
    with counting(container) as first_statements:
        first = await client.get(url, headers=ALICE)
    assert first.status_code == 200
    assert _portal_marks(first.text) == _e(120, 91) + _y(5, 1) + _e(90, 76)
    links = _page_links(first.text)
    assert links.keys() == {"next"}
    assert "Show older entries" in first.text
    assert "You sent your application" not in first.text

    with counting(container) as second_statements:
        second = await client.get(url, params={"cursor": links["next"]}, headers=ALICE)
    assert second.status_code == 200
    # across both of the internal blocks: none of them shown
    assert _portal_marks(second.text) == _e(75, 26)
    assert len(second_statements) == len(first_statements)
    links = _page_links(second.text)
    assert links.keys() == {"next", "prev"}
    assert "Newer entries" in second.text

    third = await client.get(url, params={"cursor": links["next"]}, headers=ALICE)
    marks = _portal_marks(third.text)
    assert marks == _e(25, 1)  # then the engine's own entries, in words
    assert _page_links(third.text).keys() == {"prev"}  # the oldest page: no next
    assert "You sent your application" in third.text
    back = await client.get(url, params={"cursor": _page_links(third.text)["prev"]}, headers=ALICE)
    assert _portal_marks(back.text) == _e(75, 26)

    # in Chinese, the same links in her language
    zh = await client.get(
        url,
        params={"cursor": _page_links(second.text)["next"]},
        headers={**ALICE, "Cookie": "civicloom_lang=zh-Hans"},
    )
    assert "较新的记录" in zh.text
    assert "显示较早的记录" not in zh.text
    zh_first = await client.get(url, headers={**ALICE, "Cookie": "civicloom_lang=zh-Hans"})
    assert "显示较早的记录" in zh_first.text

    # the API: the same pages, oldest first within each, cursors in the body and the Link header
    status = f"/api/v1/applications/{app_id}/status"
    with counting(container) as api_first_statements:
        api = await client.get(status, headers=ALICE)
    assert _api_marks(api) == list(reversed(_e(120, 91) + _y(5, 1) + _e(90, 76)))
    body = api.json()
    assert body["timeline_previous"] is None
    assert api.headers["link"] == (
        f'</api/v1/applications/{app_id}/status?cursor={body["timeline_next"]}>; rel="next"'
    )
    with counting(container) as api_second_statements:
        api = await client.get(status, params={"cursor": body["timeline_next"]}, headers=ALICE)
    assert _api_marks(api) == list(reversed(_e(75, 26)))
    assert len(api_second_statements) == len(api_first_statements)
    body = api.json()
    assert body["timeline_next"]
    assert body["timeline_previous"]
    api = await client.get(status, params={"cursor": body["timeline_next"]}, headers=ALICE)
    assert _api_marks(api)[-25:] == list(reversed(_e(25, 1)))
    assert api.json()["timeline_next"] is None
    assert 'rel="next"' not in api.headers["link"]
    assert len(api.json()["timeline"]) <= 50


async def test_the_officer_pages_her_departments_view_newest_first(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    _, task_id = await _long_case(container, runner)
    url = f"/backoffice/tasks/{task_id}"
    with counting(container) as first_statements:
        first = await client.get(url, headers={**ELENA, **PAGE})
    assert first.status_code == 200
    # labour's questions (Y) are not hers to read; the internal entries (H) of hers are
    assert _task_marks(first.text) == _e(120, 91) + _e(90, 71)
    links = _page_links(first.text)
    assert links.keys() == {"next"}

    with counting(container) as second_statements:
        second = await client.get(url, params={"cursor": links["next"]}, headers={**ELENA, **PAGE})
    assert _task_marks(second.text) == _e(70, 61) + _h(30, 1) + _e(60, 51)
    assert len(second_statements) == len(first_statements)
    assert second.text.count("· internal") == 30
    links = _page_links(second.text)
    assert links.keys() == {"next", "prev"}

    third = await client.get(url, params={"cursor": links["next"]}, headers={**ELENA, **PAGE})
    assert _task_marks(third.text) == _e(50, 31) + _e(30, 1)  # labour's internal X: not hers
    fourth = await client.get(
        url, params={"cursor": _page_links(third.text)["next"]}, headers={**ELENA, **PAGE}
    )
    assert fourth.status_code == 200
    assert _task_marks(fourth.text) == []  # the engine's entries before the long exchange
    assert "<li>" in fourth.text.split('id="timeline"', 1)[1].split("</ol>", 1)[0]
    assert _page_links(fourth.text).keys() == {"prev"}  # the oldest page: no next
    newer = await client.get(
        url, params={"cursor": _page_links(second.text)["prev"]}, headers={**ELENA, **PAGE}
    )
    assert _task_marks(newer.text) == _e(120, 91) + _e(90, 71)


# -- the index --------------------------------------------------------------------------------


async def _plan(session: AsyncSession, statement: ClauseElement) -> str:
    dialect = session.get_bind().dialect
    sql = str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    explain = "EXPLAIN " if dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
    rows = await session.execute(text(explain + sql))
    return "\n".join(str(row[-1]) for row in rows)


async def test_every_timeline_page_walks_the_application_and_id_index(
    container: Container,
) -> None:
    """Each reader's page, from the start and from a cursor either way, is a walk of
    ``ix_application_timeline_application_id_id`` in the page's order that stops after a page:
    no sort of the application's entries (sequential scans priced out: on a handful of rows
    a planner rightly prefers one; benchmarks/README.md has the figures at volume)."""
    readers = [
        TimelineQuery("app-1", applicant=True),
        task_timeline("app-1", "environment"),
        TimelineQuery("app-1"),
    ]
    positions = [None, Position("after", None, "120"), Position("before", None, "40")]
    async with container.uow() as uow:
        session = uow.session
        postgres = session.get_bind().dialect.name == "postgresql"
        if postgres:
            await session.execute(text("SET LOCAL enable_seqscan = off"))
        for reader in readers:
            for position in positions:
                query = reader if position is None else reader.at(position)
                plan = await _plan(session, timeline_page_statement(query))
                assert "ix_application_timeline_application_id_id" in plan, (query, plan)
                if postgres:
                    assert "Sort" not in plan, (query, plan)
                    assert "Limit" in plan, (query, plan)
                else:
                    assert "TEMP B-TREE" not in plan, (query, plan)
