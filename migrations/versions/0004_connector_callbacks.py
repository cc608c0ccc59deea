"""connector callbacks: the seen-set of signed department callbacks

Revision ID: 0004
Revises: 0006
Create Date: 2026-11-27 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "connector_callbacks",
        sa.Column("signature", sa.String(length=100), nullable=False),
        sa.Column("department", sa.String(length=50), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("signature", name=op.f("pk_connector_callbacks")),
    )
    with op.batch_alter_table("connector_callbacks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_connector_callbacks_key", ["department", "idempotency_key"], unique=False
        )


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("connector_callbacks", schema=None) as batch_op:
        batch_op.drop_index("ix_connector_callbacks_key")
    op.drop_table("connector_callbacks")
