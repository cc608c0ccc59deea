"""A review of a refusal is reminded before its answer is due and escalated to the
department's supervisors when it passes (ADR 0059 amendment): when each was done, once.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-05 19:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0034"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table("application_reviews") as batch:
        # Reviews asked for before this migration have no reminder instant: they are only
        # escalated when their answer is overdue.
        batch.add_column(sa.Column("remind_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_application_reviews_due", ["state", "due_at"], unique=False)


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("application_reviews") as batch:
        batch.drop_index("ix_application_reviews_due")
        batch.drop_column("escalated_at")
        batch.drop_column("reminded_at")
        batch.drop_column("remind_at")
