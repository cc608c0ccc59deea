"""Shared fixtures: real SQLite and PostgreSQL databases, the app, demo data."""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql
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
        stat = path.stat()
        _FRESH_SQLITE[path] = (stat.st_size, stat.st_mtime_ns)
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


async def _load_demo_world(container: Container) -> None:
    # representation checks read the simulator's seeded business register (tests/registers.py)
    container.provide(CAPABILITY_GATEWAY, SeedRegister(container.find(CAPABILITY_GATEWAY)))
    await load_demo(container, progress=lambda _: None)


def _has_wal(path: Path) -> bool:
    return Path(f"{path}-wal").exists()


_FRESH_SQLITE: dict[Path, tuple[int, int]] = {}
"""SQLite files ``database_url`` copied from the empty template, with their (size, mtime)."""

DEMO_SNAPSHOT_SCHEMA = "demo_world"


def _in_own_loop(load: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run ``load`` to completion on a fresh event loop in a thread of its own: a session
    fixture asked for from inside the running test loop cannot await."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(load())
        except BaseException as exc:  # re-raised in the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=run, name="demo-world")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


async def _demo_world_into(settings: Settings) -> None:
    c = build_container(settings)
    await _load_demo_world(c)
    await c.close()
    await c.database.dispose()


@pytest.fixture(scope="session")
def sqlite_demo_template(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The empty template with the demo world loaded once (``load_demo``, as the container
    fixture would), copied for every container on a clean SQLite database."""
    path = tmp_path_factory.mktemp("sqlite-demo") / "demo.db"
    shutil.copy(sqlite_template, path)
    settings = Settings(
        profile=Profile.TEST,
        database_url=f"sqlite+aiosqlite:///{path}",
        var_dir=path.parent / "var",
        log_json=True,
    )
    _in_own_loop(lambda: _demo_world_into(settings))
    # the last connection closed checkpoints the write-ahead log: the file alone is the world
    assert not _has_wal(path), "demo template left a write-ahead log behind"
    return path


@pytest.fixture(scope="session")
def postgres_demo_snapshot(
    postgres_database: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[list[str], list[str]]:
    """The demo world loaded once into the session database (``load_demo``, as the container
    fixture would) and copied into the schema ``demo_world``: the tables it fills and the
    ``setval`` statements of the sequences it advanced."""
    names = ", ".join(t.__tablename__ for t in TABLES)
    libpq = _libpq_url(postgres_database)
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    settings = Settings(
        profile=Profile.TEST,
        database_url=postgres_database,
        var_dir=tmp_path_factory.mktemp("postgres-demo") / "var",
        log_json=True,
    )
    _in_own_loop(lambda: _demo_world_into(settings))
    filled: list[str] = []
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {DEMO_SNAPSHOT_SCHEMA} CASCADE")
        conn.execute(f"CREATE SCHEMA {DEMO_SNAPSHOT_SCHEMA}")
        for table in TABLES:
            name = table.__tablename__
            exists = sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(name))
            if conn.execute(exists).fetchone() == (True,):
                conn.execute(
                    sql.SQL("CREATE TABLE {} AS TABLE {}").format(
                        sql.Identifier(DEMO_SNAPSHOT_SCHEMA, name), sql.Identifier(name)
                    )
                )
                filled.append(name)
        sequences = [
            f"SELECT setval('{schema}.\"{name}\"', {value}, true)"
            for schema, name, value in conn.execute(
                "SELECT schemaname, sequencename, last_value FROM pg_sequences"
                " WHERE last_value IS NOT NULL AND schemaname = 'public'"
            ).fetchall()
        ]
        conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    return filled, sequences


def _restore_demo_world(request: pytest.FixtureRequest, settings: Settings) -> bool:
    """Put the session's demo world into a clean database ``database_url`` just made, instead of
    loading it again; False (load it) when the database is not one of those, is no longer clean,
    or the settings read other blueprints. The demo world depends on the blueprints alone
    (``load_demo`` reads nothing else from the settings); its times are the session's."""
    if settings.blueprints_dir != Settings().blueprints_dir:
        return False
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        path = Path(str(url.database))
        stat = path.stat() if path.exists() else None
        if stat is None or _FRESH_SQLITE.pop(path, None) != (stat.st_size, stat.st_mtime_ns):
            return False
        if _has_wal(path):
            return False
        shutil.copy(request.getfixturevalue("sqlite_demo_template"), path)
        return True
    if settings.database_url != request.getfixturevalue("postgres_database"):
        return False
    filled, sequences = request.getfixturevalue("postgres_demo_snapshot")
    any_row = sql.SQL("SELECT {}").format(
        sql.SQL(" OR ").join(
            sql.SQL("EXISTS (SELECT 1 FROM {})").format(sql.Identifier(t.__tablename__))
            for t in TABLES
        )
    )
    with psycopg.connect(_libpq_url(settings.database_url)) as conn:  # one transaction
        if conn.execute(any_row).fetchone() != (False,):
            return False
        # a verbatim copy of a consistent state: foreign keys need not be checked row by row
        conn.execute("SET LOCAL session_replication_role = replica")
        for name in filled:
            conn.execute(
                sql.SQL("INSERT INTO {} OVERRIDING SYSTEM VALUE SELECT * FROM {}").format(
                    sql.Identifier(name), sql.Identifier(DEMO_SNAPSHOT_SCHEMA, name)
                )
            )
        for statement in sequences:
            conn.execute(statement)
    return True


@pytest.fixture
async def container(settings: Settings, request: pytest.FixtureRequest) -> AsyncIterator[Container]:
    """A container with the demo world loaded (copied from the session's demo world when the
    database is a clean one from ``database_url``; ``load_demo`` otherwise)."""
    restored = _restore_demo_world(request, settings)
    c = build_container(settings)
    if restored:
        c.provide(CAPABILITY_GATEWAY, SeedRegister(c.find(CAPABILITY_GATEWAY)))
    else:
        await _load_demo_world(c)
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


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--shard",
        default=None,
        metavar="K/N",
        help="run only the K-th (from 0) of N shares of the test modules: scripts/test.sh runs"
        " two shares side by side, one per core",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``--shard K/N``: whole modules (their module fixtures stay shared), dealt largest first
    to the share with the fewest tests so far; the same collection always deals the same way."""
    spec = config.getoption("--shard")
    if not spec:
        return
    k, n = (int(part) for part in str(spec).split("/"))
    if not 0 <= k < n:
        raise pytest.UsageError(f"--shard {spec}: K must be in 0..N-1")
    counts: dict[str, int] = {}
    for item in items:
        module = item.nodeid.split("::")[0]
        counts[module] = counts.get(module, 0) + 1
    load = [0] * n
    share_of: dict[str, int] = {}
    for module, count in sorted(counts.items(), key=lambda mc: (-mc[1], mc[0])):
        share = min(range(n), key=lambda i: load[i])
        share_of[module] = share
        load[share] += count
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        (kept if share_of[item.nodeid.split("::")[0]] == k else dropped).append(item)
    config.hook.pytest_deselected(items=dropped)
    items[:] = kept
