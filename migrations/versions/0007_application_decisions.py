"""decisions on applications (fee and step decision-model outputs)

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-27 04:35:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table("applications") as batch:
        batch.add_column(
            sa.Column(
                "decisions",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("applications") as batch:
        batch.drop_column("decisions")
