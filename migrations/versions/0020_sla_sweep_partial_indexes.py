"""Applications: partial indexes for the SLA sweep (open steps only; issue 23).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 10:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WATCHED = "'awaiting_officer', 'awaiting_external', 'ready', 'running', 'failed'"


def upgrade() -> None:
    """Apply this migration."""
    op.create_index(
        "ix_application_tasks_sla_overdue",
        "application_tasks",
        ["sla_due_at", "id"],
        unique=False,
        postgresql_where=sa.text("escalated = false AND state IN ('awaiting_officer')"),
    )
    op.create_index(
        "ix_application_tasks_sla_remind",
        "application_tasks",
        ["remind_at", "id"],
        unique=False,
        postgresql_where=sa.text(
            f"reminded_at IS NULL AND escalated = false AND state IN ({WATCHED})"
        ),
    )


def downgrade() -> None:
    """Revert this migration."""
    op.drop_index("ix_application_tasks_sla_remind", table_name="application_tasks")
    op.drop_index("ix_application_tasks_sla_overdue", table_name="application_tasks")
