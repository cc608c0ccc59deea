"""Running Alembic migrations programmatically (``civicloom db upgrade``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url


def alembic_config(migrations_dir: Path, database_url: str) -> Config:
    """An Alembic configuration for our migrations directory and a database URL."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    return config


def _ensure_sqlite_directory(database_url: str) -> None:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        Path(str(url.database)).parent.mkdir(parents=True, exist_ok=True)


def upgrade(migrations_dir: Path, database_url: str, revision: str = "head") -> None:
    """Migrate the database up to ``revision``."""
    _ensure_sqlite_directory(database_url)
    command.upgrade(alembic_config(migrations_dir, database_url), revision)


def downgrade(migrations_dir: Path, database_url: str, revision: str) -> None:
    """Migrate the database down to ``revision`` (``base`` empties it)."""
    command.downgrade(alembic_config(migrations_dir, database_url), revision)


def heads(migrations_dir: Path) -> list[str]:
    """The head revisions (there must be exactly one)."""
    script = ScriptDirectory.from_config(alembic_config(migrations_dir, "sqlite://"))
    return list(script.get_heads())
