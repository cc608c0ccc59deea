"""The floor of ``benchmarks/bench_request_path.py`` (issue 23): the status read's database work
alone, with raw asyncpg. Its figures only mean something if it does the same work as
civicloom's status read, refuses whom civicloom refuses and writes the same read-log row."""

from __future__ import annotations

import asyncio
import io
import sys
import uuid
from collections.abc import Iterator
from contextlib import redirect_stdout
from datetime import timedelta
from typing import Any

import asyncpg
import psycopg
import pytest
from sqlalchemy.engine import make_url

from benchmarks import bench_request_path as bench
from civicloom.bootstrap import build_container
from civicloom.identity import load_personas, principal_for_persona
from civicloom.identity.apikeys import create_api_key
from civicloom.identity.sessions import start_session
from civicloom.settings import Profile, Settings
from civicloom.web.session import session_policy
from tests.conftest import POSTGRES_ADMIN_URL, _libpq_url, unavailable

APPLICATION = "seed-000000000000"
FIELDS = [
    "business_name",
    "business_registration_number",
    "contact_email",
    "cuisine",
    "grease_trap",
    "opening_date",
    "parcel_id",
    "premises_address",
    "seating",
    "staff_count",
]


@pytest.fixture(scope="module")
def world() -> Iterator[bench.World]:
    """The benchmark's own world (demo services, Alice's seeded application, her session) in
    a scratch database of the test server, dropped afterwards."""
    name = f"civicloom_test_floor_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg.connect(_libpq_url(POSTGRES_ADMIN_URL), autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        unavailable("PostgreSQL", exc)
        raise
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        with bench.world(url) as w:
            yield w
    finally:
        with psycopg.connect(_libpq_url(POSTGRES_ADMIN_URL), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _container(w: bench.World) -> Any:
    return build_container(Settings(profile=Profile.TEST, database_url=w.url, var_dir=w.var))


async def _session_of(w: bench.World, persona: str) -> str:
    container = _container(w)
    try:
        principal = principal_for_persona(load_personas(container.settings.blueprints_dir)[persona])
        return await start_session(
            container.uow(), container.clock, principal, session_policy(container.settings)
        )
    finally:
        await container.database.dispose()


async def _reads(w: bench.World) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(w.dsn)
    try:
        rows = await conn.fetch(
            "SELECT actor, actor_subject, action, subject_type, subject_id, department, purpose,"
            " fields::text, details::text FROM audit_read_log ORDER BY id"
        )
    finally:
        await conn.close()
    return [dict(r) for r in rows]


async def _floor(w: bench.World, cookie: str | None, authorization: str | None = None) -> Any:
    await bench.floor_pool.open(w.dsn, 1)
    try:
        return await bench.floor_status(APPLICATION, cookie, authorization)
    finally:
        await bench.floor_pool.close()


async def test_a_session_nobody_started_reads_nothing_and_logs_nothing(
    world: bench.World,
) -> None:
    before = await _reads(world)
    assert await _floor(world, "not-a-session-token") == (401, b'{"detail":"not authenticated"}')
    assert await _reads(world) == before


async def test_another_citizen_does_not_read_alices_application(world: bench.World) -> None:
    bob = await _session_of(world, "bob")
    before = await _reads(world)
    assert await _floor(world, bob) == (404, b'{"detail":"not found"}')
    assert await _reads(world) == before


async def test_an_expired_session_reads_nothing(world: bench.World) -> None:
    token = await _session_of(world, "alice")
    await _scalar(
        world,
        "UPDATE identity_sessions SET expires_at = now() - $1::interval"
        " WHERE id = encode(sha256($2::bytea), 'hex')",
        timedelta(seconds=1),
        token.encode(),
    )
    before = await _reads(world)
    assert (await _floor(world, token))[0] == 401
    assert await _reads(world) == before


async def test_a_key_with_a_wrong_secret_reads_nothing(world: bench.World) -> None:
    container = _container(world)
    try:
        issued = await create_api_key(
            container.uow(),
            container.clock,
            name="Floor test",
            department="local-admin",
            scopes=["applications:read"],
        )
    finally:
        await container.database.dispose()
    prefix = issued.key.split("_")[1]
    wrong = f"cl_{prefix}_{'A' * 43}"
    assert await _floor(world, None, f"Bearer {wrong}") == (401, b'{"detail":"not authenticated"}')
    assert await _scalar(world, "SELECT count(last_used_at) FROM identity_api_clients") == 0
    # the right key is a machine client, not Alice: her application is not its own; the key's
    # last use is written, as civicloom writes it
    assert (await _floor(world, None, f"Bearer {issued.key}"))[0] == 404
    assert await _scalar(world, "SELECT count(last_used_at) FROM identity_api_clients") == 1


async def test_a_session_idle_for_a_minute_is_touched_as_civicloom_does(
    world: bench.World,
) -> None:
    token = await _session_of(world, "alice")
    touch = (
        "UPDATE identity_sessions SET last_seen_at = now() - interval '90 seconds'"
        " WHERE id = encode(sha256($1::bytea), 'hex')"
    )
    seen = (
        "SELECT now() - last_seen_at < interval '30 seconds' FROM identity_sessions"
        " WHERE id = encode(sha256($1::bytea), 'hex')"
    )
    await _scalar(world, touch, token.encode())
    assert await _scalar(world, seen, token.encode()) is False
    assert (await _floor(world, token))[0] == 200
    assert await _scalar(world, seen, token.encode()) is True


async def _scalar(w: bench.World, sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(w.dsn)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def test_alices_floor_read_writes_the_row_civicloom_writes(world: bench.World) -> None:
    before = await _reads(world)
    status, body = await _floor(world, world.cookie)
    assert status == 200
    assert b'"id":"seed-000000000000"' in body
    expected = {
        "actor": "dev-login:alice",
        "actor_subject": "alice",
        "action": "application.read",
        "subject_type": "application",
        "subject_id": APPLICATION,
        "department": None,
        "purpose": "applicant views status",
        "fields": '["' + '", "'.join(FIELDS) + '"]',
        "details": "{}",
    }
    assert await _reads(world) == [*before, expected]


def test_quick_run_measures_the_floor_beside_hello_and_the_status_read(
    world: bench.World,
) -> None:
    """The benchmark in its quickest mode: every in-process target answers 200 (``_drive``
    exits otherwise), the floor's ratios are printed, and civicloom's status read writes the
    same read-log row as the floor's."""
    stderr = sys.stderr
    try:
        figures = bench.in_process(world, 1, 2, ("/hello", "status", "floor", "floor-starlette"))
    finally:
        sys.stderr = stderr
    assert sorted(figures) == ["/hello", "floor", "floor-starlette", "status"]
    assert all(m["cpu_us"] > 0 and m["wall_us"] > 0 for m in figures.values())
    out = io.StringIO()
    with redirect_stdout(out):
        bench.report({"in_process_us": figures})
    assert "  floor: in process (CPU) status/hello " in out.getvalue()
    assert "  floor-starlette: in process (CPU) status/hello " in out.getvalue()
    rows = asyncio.run(_reads(world))
    by_status = [r for r in rows if r["purpose"] == "applicant views status"]
    assert len({tuple(sorted(r.items())) for r in by_status}) == 1  # civicloom's = the floor's
