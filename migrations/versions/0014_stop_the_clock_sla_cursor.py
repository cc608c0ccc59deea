"""Stop-the-clock and SLA sweeps that never starve: when an application's clock stopped, when
each step is reminded, to whom an overdue step was escalated.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 06:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table("applications") as batch:
        batch.add_column(sa.Column("clock_stopped_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("application_tasks") as batch:
        batch.add_column(sa.Column("remind_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("escalated_to", sa.String(length=100), nullable=True))
        batch.create_index("ix_application_tasks_remind_at", ["remind_at"])
    # Open steps not yet reminded: remind at the next sweep (their start is the only portable
    # moment; the three-quarter point needs date arithmetic the two databases spell apart).
    op.execute(
        "UPDATE application_tasks SET remind_at = COALESCE(activated_at, created_at) "
        "WHERE sla_due_at IS NOT NULL AND reminded_at IS NULL"
    )
    # Steps escalated before: to a supervisor (their role was overwritten then; it stays so).
    op.execute("UPDATE application_tasks SET escalated_to = 'supervisor' WHERE escalated = true")


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("application_tasks") as batch:
        batch.drop_index("ix_application_tasks_remind_at")
        batch.drop_column("escalated_to")
        batch.drop_column("remind_at")
    with op.batch_alter_table("applications") as batch:
        batch.drop_column("clock_stopped_at")
