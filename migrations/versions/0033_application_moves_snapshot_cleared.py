"""A move record's snapshot of the answers is cleared once the application is finished
(ADR 0058 amendment: the copy would otherwise outlive the answers' retention).

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-05 17:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0033"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table("governance_application_moves") as batch:
        batch.add_column(sa.Column("before_cleared_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index(
            batch.f("ix_governance_application_moves_before_cleared_at"),
            ["before_cleared_at"],
            unique=False,
        )


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("governance_application_moves") as batch:
        batch.drop_index(batch.f("ix_governance_application_moves_before_cleared_at"))
        batch.drop_column("before_cleared_at")
