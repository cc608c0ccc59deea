"""PostgreSQL privileges: the application's role may insert and read audit rows, never change them.

Migrations run as the schema owner; the API and workers connect as a separate login role set
up with these statements (``civicloom audit restrict-role <role>``). See docs/how-to/audit.md.
"""

from __future__ import annotations

import re

from sqlalchemy import text

from civicloom.db import UnitOfWork

APPEND_ONLY_TABLES = ("audit_entries", "audit_seals")
# Reads recorded by requests, waiting to be folded (ADR 0073): never updated; a row is deleted
# only by the fold that appends its entry (a deferred trigger checks it, migration 0037).
READ_LOG = "audit_read_log"
_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def app_role_statements(role: str) -> list[str]:
    """SQL that grants the app role normal access to every table but append-only audit tables
    (and the read log, which it may insert into and fold, never rewrite)."""
    if not _ROLE.match(role):
        raise ValueError(f"not a plain PostgreSQL role name: {role!r}")
    tables = ", ".join(APPEND_ONLY_TABLES)
    return [
        f'GRANT USAGE ON SCHEMA public TO "{role}"',
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"',
        f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}"',
        f'REVOKE UPDATE, DELETE, TRUNCATE ON {tables} FROM "{role}"',
        f"REVOKE UPDATE, DELETE, TRUNCATE ON {tables} FROM PUBLIC",
        f'REVOKE UPDATE, TRUNCATE ON {READ_LOG} FROM "{role}"',
        f"REVOKE UPDATE, TRUNCATE ON {READ_LOG} FROM PUBLIC",
    ]


async def restrict_app_role(uow: UnitOfWork, role: str) -> None:
    """PostgreSQL: apply ``app_role_statements(role)`` as one transaction."""
    statements = app_role_statements(role)
    async with uow:
        for statement in statements:
            await uow.session.execute(text(statement))
        await uow.commit()
