"""Audit: who acted without the sign-in channel, indexed, for search by person (issue 23).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 10:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    op.add_column("audit_entries", sa.Column("actor_subject", sa.String(length=200), nullable=True))
    find = (
        "strpos(actor, ':')" if op.get_bind().dialect.name == "postgresql" else "instr(actor, ':')"
    )
    op.execute(
        f"UPDATE audit_entries SET actor_subject = CASE WHEN {find} > 0 "  # noqa: S608
        f"THEN substr(actor, {find} + 1) ELSE actor END"
    )
    op.create_index(
        op.f("ix_audit_entries_actor_subject"), "audit_entries", ["actor_subject"], unique=False
    )


def downgrade() -> None:
    """Revert this migration."""
    op.drop_index(op.f("ix_audit_entries_actor_subject"), table_name="audit_entries")
    op.drop_column("audit_entries", "actor_subject")
