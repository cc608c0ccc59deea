"""PostgreSQL: the application's own role can append audit rows but never change or delete them;
it records reads in the read log and removes one only by folding it into its chain (ADR 0073)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy.engine import make_url

from civicloom.audit import app_role_statements

pytestmark = pytest.mark.postgres

INSERT = (
    "INSERT INTO audit_entries (chain, position, occurred_at, actor, action, subject_type,"
    " subject_id, fields, details, prev_hash, hash) VALUES ('application:r', %s, now(), 'a',"
    " 'x.read', 'application', 'r', '[]', '{}', %s, %s)"
)

READ = (
    "INSERT INTO audit_read_log (occurred_at, actor, actor_subject, action, subject_type,"
    " subject_id, fields, details) VALUES (now(), 'a', 'a', 'application.read', 'application',"
    " 'r', '[]', '{}') RETURNING id, occurred_at"
)
FOLDED = (
    "INSERT INTO audit_entries (chain, position, occurred_at, actor, action, subject_type,"
    " subject_id, fields, details, prev_hash, hash, read_id) VALUES ('application:r', 1, %s,"
    " 'a', 'application.read', 'application', 'r', '[]', '{}', %s, %s, %s)"
)
CLEAN = (
    "DELETE FROM audit_entries WHERE chain = 'application:r'",
    # as the schema owner, without the fold's check (a test's leftovers, never in production)
    "SET session_replication_role = replica",
    "DELETE FROM audit_read_log WHERE subject_id = 'r'",
    "SET session_replication_role = DEFAULT",
)


def _libpq(url: str, user: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if user is not None:
        parsed = parsed.set(username=user, password=None)
    return parsed.render_as_string(hide_password=False)


@pytest.fixture
def app_role(postgres_database: str) -> Iterator[str]:
    """A separate login role set up the way production should be (``audit restrict-role``)."""
    role = f"civicloom_app_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_libpq(postgres_database), autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{role}" LOGIN')
        for statement in app_role_statements(role):
            admin.execute(statement)
        for statement in CLEAN:
            admin.execute(statement)
    yield role
    with psycopg.connect(_libpq(postgres_database), autocommit=True) as admin:
        for statement in CLEAN:
            admin.execute(statement)
        admin.execute(f'DROP OWNED BY "{role}"')
        admin.execute(f'DROP ROLE "{role}"')


def test_app_role_appends_but_cannot_rewrite_history(postgres_database: str, app_role: str) -> None:
    with psycopg.connect(_libpq(postgres_database, app_role), autocommit=True) as app:
        app.execute(INSERT, (1, "0" * 64, "a" * 64))
        assert app.execute("SELECT count(*) FROM audit_entries").fetchone() is not None
        for statement in (
            "UPDATE audit_entries SET purpose = 'x'",
            "DELETE FROM audit_entries",
            "TRUNCATE audit_entries",
            "UPDATE audit_seals SET root = 'x'",
            "DELETE FROM audit_seals",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                app.execute(statement)
        # Everything else stays usable by the application.
        app.execute("UPDATE departments SET updated_at = updated_at WHERE false")
        app.execute("DELETE FROM outbox_messages WHERE false")


def test_app_role_records_reads_and_removes_one_only_by_folding_it(
    postgres_database: str, app_role: str
) -> None:
    with psycopg.connect(_libpq(postgres_database, app_role), autocommit=True) as app:
        found = app.execute(READ).fetchone()
        assert found is not None
        read_id, read_at = found
        for statement in ("UPDATE audit_read_log SET purpose = 'x'", "TRUNCATE audit_read_log"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                app.execute(statement)
        # deleting a read that is in no chain is refused when the transaction commits
        with pytest.raises(psycopg.errors.RestrictViolation, match="without being folded"):
            app.execute("DELETE FROM audit_read_log WHERE subject_id = 'r'")
        # the fold: the read's entry appended and the row deleted in one transaction
        with app.transaction():
            app.execute("DELETE FROM audit_read_log WHERE id = %s", (read_id,))
            app.execute(FOLDED, (read_at, "0" * 64, "b" * 64, read_id))
        left = app.execute("SELECT count(*) FROM audit_read_log WHERE subject_id = 'r'").fetchone()
        assert left == (0,)


def test_role_names_are_validated() -> None:
    with pytest.raises(ValueError, match="role name"):
        app_role_statements('x"; DROP TABLE audit_entries; --')
