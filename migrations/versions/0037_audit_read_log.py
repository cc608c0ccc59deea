"""Reads of personal data recorded by one small insert and folded into the audit chains by the
worker (issue 23, ADR 0073): the ``audit_read_log`` table, the entry's ``read_id`` (unique
where set), and on PostgreSQL a deferred trigger that lets a read leave the log only in a
transaction that appended its entry.

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-05 22:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0037"
down_revision: str | None = "0036"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# A deferred constraint trigger runs at commit, after the fold has appended the entries of the
# rows it deleted at the start of its transaction.
ONLY_FOLDED = """
CREATE FUNCTION audit_read_log_only_folded() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- the entry must be this read in its own chain, not any row naming its id (a decoy in
    -- another chain would otherwise let a read be deleted unfolded)
    IF NOT EXISTS (
        SELECT 1 FROM audit_entries
        WHERE read_id = OLD.id
          AND chain = OLD.subject_type || ':' || OLD.subject_id
          AND subject_type = OLD.subject_type AND subject_id = OLD.subject_id
          AND action = OLD.action AND actor = OLD.actor AND occurred_at = OLD.occurred_at
    ) THEN
        RAISE EXCEPTION 'audit read % left the read log without being folded into its chain',
            OLD.id USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NULL;
END
$$
"""
TRIGGER = """
CREATE CONSTRAINT TRIGGER audit_read_log_only_folded AFTER DELETE ON audit_read_log
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit_read_log_only_folded()
"""


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "audit_read_log",
        sa.Column("id", BIGINT, autoincrement=True, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("actor_subject", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("subject_type", sa.String(length=50), nullable=False),
        sa.Column("subject_id", sa.String(length=100), nullable=False),
        sa.Column("department", sa.String(length=50), nullable=True),
        sa.Column("purpose", sa.String(length=200), nullable=True),
        sa.Column("fields", JSON, nullable=False),
        sa.Column("details", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_read_log")),
        # SQLite would reuse a deleted (folded) row's id without it
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_audit_read_log_subject_id"), "audit_read_log", ["subject_id"], unique=False
    )
    # nullable, no default: PostgreSQL adds it without rewriting the table
    op.add_column("audit_entries", sa.Column("read_id", BIGINT, nullable=True))
    op.create_index(
        "uq_audit_entries_read_id",
        "audit_entries",
        ["read_id"],
        unique=True,
        postgresql_where=sa.text("read_id IS NOT NULL"),
        sqlite_where=sa.text("read_id IS NOT NULL"),
    )
    if op.get_context().dialect.name == "postgresql":
        op.execute(ONLY_FOLDED)
        op.execute(TRIGGER)


def downgrade() -> None:
    """Revert this migration; refused while reads wait in the log (fold them first:
    ``civicloom audit fold``), since dropping the table would lose them."""
    waiting = op.get_bind().execute(sa.text("SELECT count(*) FROM audit_read_log")).scalar()
    if waiting:
        raise RuntimeError(
            f"{waiting} personal-data reads wait in audit_read_log: run `civicloom audit fold` "
            "before downgrading, or they would be lost"
        )
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_read_log_only_folded ON audit_read_log")
        op.execute("DROP FUNCTION IF EXISTS audit_read_log_only_folded()")
    op.drop_index("uq_audit_entries_read_id", table_name="audit_entries")
    with op.batch_alter_table("audit_entries") as batch_op:
        batch_op.drop_column("read_id")
    op.drop_index(op.f("ix_audit_read_log_subject_id"), table_name="audit_read_log")
    op.drop_table("audit_read_log")
