"""Migrations: one head, upgrade and downgrade on both backends, models and migrations agree."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

from civicloom.applications.tables import POSTGRES_SEARCH_INDEXES
from civicloom.db.migrate import downgrade, heads, upgrade
from civicloom.schema import TABLES, target_metadata
from civicloom.settings import Settings
from tests.conftest import POSTGRES_ADMIN_URL, unavailable

MIGRATIONS = Settings().migrations_dir


def test_there_is_exactly_one_head() -> None:
    assert len(heads(MIGRATIONS)) == 1


def test_migration_files_are_numbered_in_sequence() -> None:
    numbers = sorted(p.name[:4] for p in MIGRATIONS.glob("versions/[0-9]*.py"))
    assert numbers == [f"{i:04d}" for i in range(1, len(numbers) + 1)]


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """An empty database: (async URL for Alembic, sync URL for inspection)."""
    if request.param == "sqlite":
        path = tmp_path / "m.db"
        yield f"sqlite+aiosqlite:///{path}", f"sqlite:///{path}"
        return
    name = f"civicloom_mig_{uuid.uuid4().hex[:8]}"
    admin_url = make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql")
    try:
        admin = psycopg.connect(
            admin_url.render_as_string(hide_password=False), autocommit=True, connect_timeout=5
        )
    except psycopg.Error as exc:
        unavailable("PostgreSQL", exc)
        raise
    admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(POSTGRES_ADMIN_URL).set(database=name)
    try:
        yield (
            url.render_as_string(hide_password=False),
            url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False),
        )
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _not_a_postgres_search_index(
    obj: object, name: str | None, kind: str, reflected: bool, compare_to: object
) -> bool:
    """The case search's PostgreSQL-only expression indexes live in migration 0036 alone."""
    return not (kind == "index" and name in POSTGRES_SEARCH_INDEXES)


def test_upgrade_downgrade_upgrade_and_models_match(empty_database: tuple[str, str]) -> None:
    async_url, sync_url = empty_database
    engine = create_engine(sync_url)
    try:
        upgrade(MIGRATIONS, async_url)
        expected = {t.__tablename__ for t in TABLES}
        assert expected <= set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"include_object": _not_a_postgres_search_index}
            )
            diff = compare_metadata(context, target_metadata())
        assert diff == [], f"models and migrations disagree: {diff}"

        downgrade(MIGRATIONS, async_url, "base")
        engine.dispose()
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}

        upgrade(MIGRATIONS, async_url)
        engine.dispose()
        assert expected <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
