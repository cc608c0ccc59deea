"""Governance: a change request's migration of running applications, and each application it
moved (ADR 0058); applications: the day a closed application's next answer runs out of
retention, so the purge reads only those due (backfilled: every closed one is due once).

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-05 16:00:00

Written against 0027 while 0028 was being written elsewhere; the lead sets ``down_revision``
to "0028" when merging.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


FINAL_STATES = ("approved", "rejected", "withdrawn", "failed")


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table("applications") as batch:
        batch.add_column(sa.Column("data_purge_due_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index(
            batch.f("ix_applications_data_purge_due_at"), ["data_purge_due_at"], unique=False
        )
    applications = sa.table(
        "applications",
        sa.column("state", sa.String),
        sa.column("decided_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
        sa.column("data_purge_due_at", sa.DateTime(timezone=True)),
    )
    op.execute(
        applications.update()
        .where(applications.c.state.in_(FINAL_STATES))
        .values(
            data_purge_due_at=sa.func.coalesce(applications.c.decided_at, applications.c.updated_at)
        )
    )
    with op.batch_alter_table("governance_change_requests") as batch:
        batch.add_column(sa.Column("migration", JSON, nullable=True))
    op.create_table(
        "governance_application_moves",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("change_id", sa.String(length=36), nullable=False),
        sa.Column("application_id", sa.String(length=36), nullable=False),
        sa.Column("reference", sa.String(length=30), nullable=False),
        sa.Column("from_version_id", sa.String(length=36), nullable=False),
        sa.Column("to_version_id", sa.String(length=36), nullable=False),
        sa.Column("before", JSON, nullable=False),
        sa.Column("after_states", JSON, nullable=False),
        sa.Column("changes", JSON, nullable=False),
        sa.Column("moved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("moved_by", sa.String(length=200), nullable=False),
        sa.Column("moved_by_name", sa.String(length=200), nullable=False),
        sa.Column("reversed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reversed_by", sa.String(length=200), nullable=True),
        sa.Column("reversed_by_name", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["change_id"],
            ["governance_change_requests.id"],
            name=op.f("fk_governance_application_moves_change_id_governance_change_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_governance_application_moves")),
        sa.UniqueConstraint(
            "change_id", "application_id", name="uq_governance_application_moves_application"
        ),
    )
    op.create_index(
        op.f("ix_governance_application_moves_application_id"),
        "governance_application_moves",
        ["application_id"],
    )
    op.create_index(
        op.f("ix_governance_application_moves_change_id"),
        "governance_application_moves",
        ["change_id"],
    )


def downgrade() -> None:
    """Revert this migration."""
    op.drop_index(op.f("ix_governance_application_moves_change_id"), "governance_application_moves")
    op.drop_index(
        op.f("ix_governance_application_moves_application_id"), "governance_application_moves"
    )
    op.drop_table("governance_application_moves")
    with op.batch_alter_table("governance_change_requests") as batch:
        batch.drop_column("migration")
    with op.batch_alter_table("applications") as batch:
        batch.drop_index(batch.f("ix_applications_data_purge_due_at"))
        batch.drop_column("data_purge_due_at")
