"""A pooled connection the server dropped while the pool was busy (ADR 0078): the one request
that draws it is not a 500. A read gets a 503 with ``Retry-After``; a write, which may have been
committed before the connection went, a 502 ``outcome-unknown`` saying to check before sending
it again (problem+json for the API, a styled, translated page for a browser). The pool is
invalidated and the next request is served.

The container's database is built with a ping threshold no test outlives, so the stale
connection is handed out without a ping whatever the machine's load (nothing sleeps)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import psycopg
import pytest
from sqlalchemy import text

from civicloom.db.engine import Database
from civicloom.demo import RESTAURANT_ANSWERS
from civicloom.runtime import Container
from tests.conftest import _libpq_url, as_persona

NEVER = 24 * 3600.0  # seconds: no pooled connection is pinged during the test


@pytest.fixture
async def unpinged(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    from civicloom.app import create_app

    await container.database.dispose()
    container.database = Database(
        container.settings.effective_database_url,
        container.settings.db_pool_size,
        ping_after_idle=NEVER,
    )
    app = create_app(container)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        yield client


def _drop_pooled_connections(container: Container) -> int:
    """What a PostgreSQL restart does to the pool: every server process of this database but
    the caller's is gone (``pg_terminate_backend`` waits until each has exited)."""
    url = _libpq_url(container.settings.effective_database_url)
    with psycopg.connect(url, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend'"
        ).fetchall()
    return len(rows)


async def _pool_connections(container: Container) -> int:
    async with container.database.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return int(container.database.engine.pool.checkedin())  # type: ignore[attr-defined]


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_the_api_answers_503_with_retry_after_then_serves_again(
    unpinged: httpx.AsyncClient, container: Container
) -> None:
    assert (await unpinged.get("/api/v1/services")).status_code == 200
    assert await _pool_connections(container) >= 1
    assert _drop_pooled_connections(container) >= 1

    lost = await unpinged.get("/api/v1/services")

    assert lost.status_code == 503
    assert lost.headers["content-type"] == "application/problem+json"
    assert lost.headers["retry-after"] == "1"
    body = lost.json()
    assert body["type"] == "/problems/database-unavailable"
    assert body["title"] == "The database is not reachable"
    assert body["detail"] == "the connection to the database was lost; try again in a moment"
    again = await unpinged.get("/api/v1/services")
    assert again.status_code == 200
    problem = await unpinged.get("/problems/database-unavailable")
    assert problem.status_code == 200


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
@pytest.mark.parametrize(
    ("language", "title", "advice"),
    [
        ("en", "Sorry, the service is unavailable", "Try again in a moment."),
        ("zh-CN", "抱歉，服务暂时不可用", "请稍后再试。"),
    ],
)
async def test_a_browser_gets_a_styled_translated_page(
    unpinged: httpx.AsyncClient, container: Container, language: str, title: str, advice: str
) -> None:
    page = {"Accept": "text/html", "Accept-Language": language}
    assert (await unpinged.get("/services", headers=page)).status_code == 200
    assert _drop_pooled_connections(container) >= 1

    lost = await unpinged.get("/services", headers=page)

    assert lost.status_code == 503
    assert lost.headers["content-type"].startswith("text/html")
    assert lost.headers["retry-after"] == "1"
    assert f">{title}</h1>" in lost.text
    assert advice in lost.text
    assert "DBAPIError" not in lost.text
    assert (await unpinged.get("/services", headers=page)).status_code == 200


async def _applications(container: Container) -> int:
    async with container.database.engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM applications"))).scalar_one())


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_a_write_without_an_idempotency_key_is_not_told_to_retry(
    unpinged: httpx.AsyncClient, container: Container
) -> None:
    # The connection may go during COMMIT, after the server committed: a retry would file a
    # second application (attack review). Only the client can check, so it is told to.
    before = await _applications(container)
    assert _drop_pooled_connections(container) >= 1

    lost = await unpinged.post(
        "/api/v1/applications",
        json={"service": "open-a-restaurant", "data": dict(RESTAURANT_ANSWERS)},
        headers=as_persona("alice"),
    )

    assert lost.status_code == 502
    assert "retry-after" not in lost.headers
    assert lost.json()["type"] == "/problems/outcome-unknown"
    assert lost.json()["title"] == "The outcome is not known"
    assert await _applications(container) == before  # here the first statement failed


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_a_keyed_write_is_not_told_to_retry_but_its_key_makes_a_retry_file_once(
    unpinged: httpx.AsyncClient, container: Container
) -> None:
    before = await _applications(container)
    body = {"service": "open-a-restaurant", "data": dict(RESTAURANT_ANSWERS)}
    keyed = {**as_persona("alice"), "Idempotency-Key": "lost-connection-1"}
    assert _drop_pooled_connections(container) >= 1

    lost = await unpinged.post("/api/v1/applications", json=body, headers=keyed)
    # Most routes do not replay a key (attack review): the answer does not depend on one.
    assert lost.status_code == 502
    assert "retry-after" not in lost.headers
    assert lost.json()["type"] == "/problems/outcome-unknown"
    retried = await unpinged.post("/api/v1/applications", json=body, headers=keyed)
    replayed = await unpinged.post("/api/v1/applications", json=body, headers=keyed)

    assert retried.status_code == 201
    assert replayed.json()["id"] == retried.json()["id"]
    assert await _applications(container) == before + 1


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
@pytest.mark.parametrize(
    ("language", "title", "advice"),
    [
        (
            "en",
            "Sorry, there is a problem with the service",
            "Check your applications and messages before you send it again.",
        ),
        ("zh-CN", "抱歉，服务出现问题", "请先查看您的申请和消息，再重新提交。"),
    ],
)
async def test_a_browser_form_is_told_to_check_before_sending_again(
    unpinged: httpx.AsyncClient, container: Container, language: str, title: str, advice: str
) -> None:
    page = {"Accept": "text/html", "Accept-Language": language, **as_persona("alice")}
    assert (await unpinged.get("/services", headers=page)).status_code == 200
    assert _drop_pooled_connections(container) >= 1

    # starting a draft of the restaurant form: a write (a draft row) from a browser
    lost = await unpinged.post("/services/open-a-restaurant/apply", headers=page)

    assert lost.status_code == 502
    assert lost.headers["content-type"].startswith("text/html")
    assert "retry-after" not in lost.headers
    assert f">{title}</h1>" in lost.text
    assert advice in lost.text
