"""Shared fixtures: real SQLite and PostgreSQL databases, the app, demo data."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from civicloom.bootstrap import build_container
from civicloom.db.migrate import upgrade
from civicloom.demo import load_demo
from civicloom.departments import CAPABILITY_GATEWAY
from civicloom.runtime import Container
from civicloom.schema import TABLES
from civicloom.settings import Profile, Settings
from tests.registers import SeedRegister

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
POSTGRES_ADMIN_URL = os.environ.get(
    "CIVICLOOM_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
AMQP_URL = os.environ.get("CIVICLOOM_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
BACKENDS = ["sqlite", "postgresql"]


def unavailable(what: str, exc: BaseException) -> None:
    """Fail under CI, skip on a developer machine without the service."""
    message = f"{what} is not reachable: {type(exc).__name__}: {exc}"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: a missing service is a failure)")
    pytest.skip(message)


def _libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session, dropped at the end."""
    name = f"civicloom_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(_libpq_url(POSTGRES_ADMIN_URL), autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        unavailable("PostgreSQL", exc)
        raise
    admin.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(Settings().migrations_dir, url)
        yield url
    finally:
        # A fresh connection: a durability test may have restarted PostgreSQL meanwhile.
        with psycopg.connect(_libpq_url(POSTGRES_ADMIN_URL), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for every test that needs a clean database."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    upgrade(Settings().migrations_dir, f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Which database this test runs on."""
    return str(request.param)


@pytest.fixture
def database_url(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> str:
    """A clean, migrated database on the chosen backend."""
    if backend == "sqlite":
        path = tmp_path / "civicloom.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite+aiosqlite:///{path}"
    url = str(request.getfixturevalue("postgres_database"))
    names = ", ".join(t.__tablename__ for t in TABLES)
    with psycopg.connect(_libpq_url(url), autocommit=True) as conn:
        conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Test-profile settings on the chosen database."""
    return Settings(
        profile=Profile.TEST,
        database_url=database_url,
        var_dir=tmp_path / "var",
        log_json=True,
        max_body_bytes=64 * 1024,
    )


@pytest.fixture
async def container(settings: Settings) -> AsyncIterator[Container]:
    """A container with the demo world loaded."""
    c = build_container(settings)
    # representation checks read the simulator's seeded business register (tests/registers.py)
    c.provide(CAPABILITY_GATEWAY, SeedRegister(c.find(CAPABILITY_GATEWAY)))
    await load_demo(c, progress=lambda _: None)
    yield c
    await c.close()
    await c.database.dispose()


@pytest.fixture
async def client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client speaking to the app in-process (real ASGI stack, real database)."""
    from civicloom.app import create_app

    app = create_app(container)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def as_persona(persona: str) -> dict[str, str]:
    """Authorization header of a dev-login persona."""
    return {"Authorization": f"Bearer dev:{persona}"}


@pytest.fixture
def project_root() -> Path:
    """The repository root."""
    return Path(__file__).resolve().parents[1]
