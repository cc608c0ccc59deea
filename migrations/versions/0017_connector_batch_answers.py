"""Connectors: the file exchange's seen-set of recorded batch answers, in the database.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "connector_batch_answers",
        sa.Column("department", sa.String(length=50), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "department", "idempotency_key", name=op.f("pk_connector_batch_answers")
        ),
    )


def downgrade() -> None:
    """Revert this migration."""
    op.drop_table("connector_batch_answers")
