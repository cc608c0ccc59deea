"""API keys of machine clients: shown once, hashed, scoped, expiring, rotated, revoked."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from civicloom.identity import authenticate_api_key, create_api_key, revoke_api_key, rotate_api_key
from civicloom.identity.tables import ApiClientRow
from civicloom.kernel import FixedClock, SystemClock, ValidationFailed
from civicloom.runtime import Container
from tests.integration.test_applications_api import ALICE, restaurant


def bearer(key: str) -> dict[str, str]:
    """Authorization header for an API key."""
    return {"Authorization": f"Bearer {key}"}


async def test_key_is_stored_hashed_and_scoped(
    container: Container, client: httpx.AsyncClient
) -> None:
    issued = await create_api_key(
        container.uow(),
        container.clock,
        name="Tax case system",
        department="tax",
        scopes=["applications:write"],
    )
    assert issued.key.startswith(f"cl_{issued.client.prefix}_")
    async with container.uow() as uow:
        row = await uow.session.scalar(select(ApiClientRow))
    assert row is not None
    assert issued.key.split("_", 2)[2] not in row.secret_hash
    assert row.department == "tax"

    me = (await client.get("/auth/me", headers=bearer(issued.key))).json()
    assert me["roles"] == ["machine-client"]
    assert me["department"] == "tax"
    submitted = await client.post(
        "/api/v1/applications", json=restaurant(), headers=bearer(issued.key)
    )
    # The scope lets the key in (not 403); the mandate model then refuses it: a department
    # system is not a director of Golden Dragon, nor their delegate (issue 17, ADR 0041).
    assert submitted.status_code == 422, submitted.text
    assert [(e["field"], e["rule"]) for e in submitted.json()["errors"]] == [
        ("data.business_registration_number", "may-act-for")
    ]
    submitted = await client.post("/api/v1/applications", json=restaurant(), headers=ALICE)
    assert submitted.status_code == 201, submitted.text
    # Without the scope a route refuses the key, as it does for any wrong role.
    tasks = await client.get("/api/v1/tasks", headers=bearer(issued.key))
    assert tasks.status_code == 403
    read = await client.get(
        f"/api/v1/applications/{submitted.json()['id']}", headers=bearer(issued.key)
    )
    assert read.status_code == 404  # concealed: no applications:read scope

    tampered = issued.key[:-2] + ("AA" if not issued.key.endswith("AA") else "BB")
    assert (await client.get("/auth/me", headers=bearer(tampered))).status_code == 401


async def test_revoked_and_expired_keys_are_refused(
    container: Container, client: httpx.AsyncClient
) -> None:
    issued = await create_api_key(
        container.uow(), container.clock, name="x", department="labour", scopes=["tasks:read"]
    )
    assert (await client.get("/auth/me", headers=bearer(issued.key))).status_code == 200
    await revoke_api_key(container.uow(), container.clock, issued.client.prefix)
    assert (await client.get("/auth/me", headers=bearer(issued.key))).status_code == 401

    short = await create_api_key(
        container.uow(),
        container.clock,
        name="y",
        department="labour",
        scopes=["tasks:read"],
        expires_in_days=1,
    )
    later = FixedClock(SystemClock().now() + timedelta(days=1, seconds=1))
    assert await authenticate_api_key(container.uow(), later, short.key) is None
    assert await authenticate_api_key(container.uow(), container.clock, short.key) is not None


async def test_rotation_keeps_the_old_key_for_the_grace_period(container: Container) -> None:
    now = FixedClock(SystemClock().now())
    old = await create_api_key(
        container.uow(), now, name="z", department="environment", scopes=["tasks:write"]
    )
    new = await rotate_api_key(container.uow(), now, old.client.prefix, grace=timedelta(hours=1))
    assert new.key != old.key
    assert new.client.scopes == ("tasks:write",)
    assert await authenticate_api_key(container.uow(), now, old.key) is not None
    now.advance(timedelta(hours=1, seconds=1))
    assert await authenticate_api_key(container.uow(), now, old.key) is None
    assert await authenticate_api_key(container.uow(), now, new.key) is not None


async def test_bad_key_requests_name_the_field(container: Container) -> None:
    with pytest.raises(ValidationFailed) as failed:
        await create_api_key(
            container.uow(), container.clock, name="", department="tax", scopes=["Bad Scope"]
        )
    assert {(e.field, e.rule) for e in failed.value.errors} == {
        ("name", "length"),
        ("scopes", "pattern"),
    }


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_cli_creates_lists_and_revokes(database_url: str) -> None:
    env = {
        **os.environ,
        "CIVICLOOM_DATABASE_URL": database_url,
        "CIVICLOOM_PROFILE": "test",
        "COLUMNS": "250",
    }
    cli = [sys.executable, "-m", "civicloom", "apikeys"]

    def run(*args: str) -> str:
        done = subprocess.run([*cli, *args], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    created = run("create", "--name", "Labour", "--department", "labour", "--scope", "tasks:read")
    key = next(line for line in created.splitlines() if line.startswith("cl_"))
    prefix = key.split("_")[1]
    listed = run("list")
    assert prefix in listed
    assert key not in listed
    assert "revoked" in run("revoke", prefix)


async def test_a_department_system_with_tasks_read_reads_its_work_queue(
    container: Container, client: httpx.AsyncClient
) -> None:
    # The tasks:read scope was grantable but useless: the queue answered 403 to every key.
    reader = await create_api_key(
        container.uow(), container.clock, name="r", department="local-admin", scopes=["tasks:read"]
    )
    other = await create_api_key(
        container.uow(), container.clock, name="o", department="local-admin", scopes=["kpis:read"]
    )
    assert (await client.get("/api/v1/tasks", headers=bearer(reader.key))).status_code == 200
    assert (await client.get("/api/v1/tasks", headers=bearer(other.key))).status_code == 403
