"""traceparent on tasks: every step continues its application's trace

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27 04:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table("application_tasks") as batch:
        batch.add_column(sa.Column("traceparent", sa.String(length=60), nullable=True))


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("application_tasks") as batch:
        batch.drop_column("traceparent")
