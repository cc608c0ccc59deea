"""Dev login, cookie sessions (rotation, timeouts, logout), CSRF and rate limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from civicloom.audit.tables import AuditEntryRow
from civicloom.identity import (
    SessionPolicy,
    load_personas,
    principal_for_persona,
    resolve_session,
    start_session,
)
from civicloom.kernel import FixedClock
from civicloom.runtime import Container
from civicloom.settings import Profile, Settings
from tests.integration.identity.conftest import csrf_from
from tests.integration.test_applications_api import restaurant
from tests.wiring import reconfigure, still_rate_limits


async def dev_login(client: httpx.AsyncClient, persona: str) -> httpx.Response:
    """Sign in through the dev login form, as a browser would."""
    page = await client.get("/auth/dev-login")
    return await client.post(
        "/auth/dev-login",
        data={"persona": persona, "csrf_token": csrf_from(page.text), "next": "/auth/me"},
    )


async def identity_audit(container: Container) -> list[str]:
    """Identity audit actions, in order."""
    async with container.uow() as uow:
        actions = await uow.session.scalars(select(AuditEntryRow.action))
        return [a for a in actions if a.startswith("identity.")]


async def test_dev_login_page_is_marked_and_login_works(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    page = await app_client.get("/auth/dev-login")
    assert page.status_code == 200
    assert "DEVELOPMENT LOGIN — demo personas" in page.text
    assert 'data-persona="alice"' in page.text
    assert "civicloom_csrf=" in page.headers["set-cookie"]

    done = await dev_login(app_client, "alice")
    assert done.status_code == 303
    assert done.headers["location"] == "/auth/me"
    cookie = done.headers["set-cookie"]
    assert "civicloom_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/" in cookie
    me = (await app_client.get("/auth/me")).json()
    assert me["subject"] == "alice"
    assert me["mandates"] == ["BR-2019-004211"]
    assert me["authenticated_by"] == "dev-login"
    assert await identity_audit(container) == ["identity.login"]


async def test_login_without_csrf_token_is_refused(app_client: httpx.AsyncClient) -> None:
    await app_client.get("/auth/dev-login")
    refused = await app_client.post("/auth/dev-login", data={"persona": "alice"})
    assert refused.status_code == 403
    forged = await app_client.post(
        "/auth/dev-login", data={"persona": "alice", "csrf_token": "0" * 64}
    )
    assert forged.status_code == 403
    assert (await app_client.get("/auth/me")).status_code == 401


async def test_unknown_persona_is_a_failed_login(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    response = await dev_login(app_client, "mallory")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "persona"
    assert await identity_audit(container) == ["identity.login_failed"]


async def test_cookie_session_needs_csrf_for_state_changes(
    app_client: httpx.AsyncClient,
) -> None:
    await dev_login(app_client, "alice")
    without = await app_client.post("/api/v1/applications", json=restaurant())
    assert without.status_code == 403
    page = await app_client.get("/auth/signed-in")
    with_token = await app_client.post(
        "/api/v1/applications", json=restaurant(), headers={"X-CSRF-Token": csrf_from(page.text)}
    )
    assert with_token.status_code == 201, with_token.text


async def test_login_rotates_the_session_and_logout_ends_it(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    await dev_login(app_client, "bob")
    first = app_client.cookies["civicloom_session"]
    await dev_login(app_client, "alice")
    second = app_client.cookies["civicloom_session"]
    assert first != second
    stale = await app_client.get("/auth/me", headers={"Cookie": f"civicloom_session={first}"})
    assert stale.status_code == 401

    page = await app_client.get("/auth/signed-in")
    out = await app_client.post("/auth/logout", data={"csrf_token": csrf_from(page.text)})
    assert out.status_code == 303
    replay = await app_client.get("/auth/me", headers={"Cookie": f"civicloom_session={second}"})
    assert replay.status_code == 401
    assert await identity_audit(container) == [
        "identity.login",
        "identity.login",
        "identity.logout",
    ]


async def test_idle_and_absolute_timeouts(container: Container) -> None:
    clock = FixedClock(datetime(2027, 1, 4, 9, 0, tzinfo=UTC))
    policy = SessionPolicy(idle=timedelta(minutes=30), absolute=timedelta(hours=2))
    alice = principal_for_persona(load_personas(container.settings.blueprints_dir)["alice"])
    token = await start_session(container.uow(), clock, alice, policy)
    for _ in range(5):  # active use keeps it alive past the idle limit...
        clock.advance(timedelta(minutes=20))
        assert await resolve_session(container.uow(), clock, token, policy) is not None
    clock.advance(timedelta(minutes=20))  # ...but not past the absolute limit (2 h)
    assert await resolve_session(container.uow(), clock, token, policy) is None

    idle = await start_session(container.uow(), clock, alice, policy)
    clock.advance(timedelta(minutes=31))
    assert await resolve_session(container.uow(), clock, idle, policy) is None


async def test_login_is_rate_limited(container: Container, app_client: httpx.AsyncClient) -> None:
    still_rate_limits(container)
    page = await app_client.get("/auth/dev-login")
    token = csrf_from(page.text)
    statuses = []
    for _ in range(container.settings.login_rate_per_minute + 1):
        # The token is bound to the session it was issued for: each attempt starts signed out.
        app_client.cookies.delete("civicloom_session")
        response = await app_client.post(
            "/auth/dev-login", data={"persona": "bob", "csrf_token": token}
        )
        statuses.append(response.status_code)
    assert statuses[:-1] == [303] * container.settings.login_rate_per_minute
    assert statuses[-1] == 429


async def test_submissions_are_rate_limited(
    container: Container, app_client: httpx.AsyncClient
) -> None:
    reconfigure(container, container.settings.model_copy(update={"submission_rate_per_minute": 2}))
    still_rate_limits(container)
    alice = {"Authorization": "Bearer dev:alice"}
    codes = [
        (
            await app_client.post("/api/v1/applications", json=restaurant(), headers=alice)
        ).status_code
        for _ in range(3)
    ]
    assert codes == [201, 201, 429]


async def test_dev_login_is_off_in_production_and_production_refuses_it(
    container: Container, app_client: httpx.AsyncClient
) -> None:
    with pytest.raises(ValueError, match="dev_login must be off in production"):
        Settings(
            profile=Profile.PRODUCTION,
            dev_login=True,
            secret_key="x" * 40,
            database_url="postgresql+asyncpg://u@127.0.0.1/db",
        )
    reconfigure(container, container.settings.model_copy(update={"dev_login": False}))
    assert (await app_client.get("/auth/dev-login")).status_code == 404
    bearer = await app_client.get("/auth/me", headers={"Authorization": "Bearer dev:alice"})
    assert bearer.status_code == 401
