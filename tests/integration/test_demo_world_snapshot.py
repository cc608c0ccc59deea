"""The ``container`` fixture copies the session's demo world into a clean database instead of
running ``load_demo`` for every test (docs/contributing/testing.md). The copy must be the world
``load_demo`` makes: the same rows in every table, told apart only by what differs between any
two loads (generated ids, times and the hashes over them), and an audit chain that verifies."""

from __future__ import annotations

import re
import shutil
import uuid
from datetime import date, datetime
from pathlib import Path

import psycopg
from sqlalchemy import select

from civicloom.audit import verify_audit
from civicloom.bootstrap import build_container
from civicloom.runtime import Container
from civicloom.schema import TABLES
from tests.conftest import _demo_world_into, _libpq_url

VARYING = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"  # a generated id
    r"|\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?(\+00:00|Z)?"  # a time
    r"|[0-9a-f]{32,}"  # a hash over them
)


def _masked(value: object) -> object:
    if isinstance(value, datetime | date):
        return "<time>"
    if isinstance(value, uuid.UUID):
        return "<id>"
    if isinstance(value, str):
        return VARYING.sub("<varies>", value)
    if isinstance(value, dict | list):
        return _masked(repr(value))
    return value


async def _world(container: Container) -> dict[str, list[str]]:
    world: dict[str, list[str]] = {}
    async with container.uow() as uow:
        for table in TABLES:
            rows = (await uow.session.execute(select(table.__table__))).all()
            world[table.__tablename__] = sorted(repr(tuple(map(_masked, row))) for row in rows)
    return world


async def test_the_copied_demo_world_is_the_loaded_one(
    container: Container, backend: str, sqlite_template: Path, tmp_path: Path
) -> None:
    copied = await _world(container)
    async with container.uow() as uow:
        audit = await verify_audit(uow.session, None)
    assert audit.problems == []
    assert audit.entries == 26  # the entries of loading the demo world (test_demo_seed.py)
    settings = container.settings
    if backend == "sqlite":
        fresh = tmp_path / "fresh.db"
        shutil.copy(sqlite_template, fresh)
        settings = settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{fresh}"})
    else:
        names = ", ".join(t.__tablename__ for t in TABLES)
        with psycopg.connect(_libpq_url(settings.database_url), autocommit=True) as conn:
            conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    await _demo_world_into(settings)
    loaded_container = build_container(settings)
    try:
        loaded = await _world(loaded_container)
    finally:
        await loaded_container.close()
        await loaded_container.database.dispose()
    assert {t: len(r) for t, r in copied.items()} == {t: len(r) for t, r in loaded.items()}
    assert copied["departments"] != [], "the demo world has departments"
    assert copied == loaded
