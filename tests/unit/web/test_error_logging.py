"""Errors are logged without the data they carry (ADR 0035): database errors without bound
parameters, exceptions as frames and types without messages or local variables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import structlog
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from civicloom.db.engine import Database
from civicloom.observability import configure_logging, get_logger


async def test_database_errors_carry_no_bound_parameters(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    try:
        async with database.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE people (name TEXT UNIQUE)"))
            await conn.execute(text("INSERT INTO people VALUES (:name)"), {"name": "Alice Chen"})
        with pytest.raises(IntegrityError) as raised:
            async with database.engine.begin() as conn:
                await conn.execute(
                    text("INSERT INTO people VALUES (:name)"), {"name": "Alice Chen"}
                )
    finally:
        await database.dispose()
    assert "Alice Chen" not in str(raised.value)
    assert "SQL parameters hidden" in str(raised.value)


def test_an_exception_is_logged_without_its_message_or_locals(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", json=True)

    def handle(authorization: str) -> None:
        body = b'{"email": "bob.martins@example.org"}'
        raise ValueError(f"cannot handle {authorization} {body!r}")

    try:
        handle("Bearer cl_secret-credential")
    except ValueError as exc:
        get_logger("test").error("unhandled_error", exc_info=exc)
    structlog.contextvars.clear_contextvars()
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["event"] == "unhandled_error"
    assert line["exception"].endswith("builtins.ValueError")
    assert "in handle" in line["exception"]
    assert "cl_secret-credential" not in json.dumps(line)
    assert "bob.martins@example.org" not in json.dumps(line)
