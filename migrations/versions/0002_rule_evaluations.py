"""rule evaluations

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 04:23:25.756222
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[object]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "rule_evaluations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("application_id", sa.String(length=36), nullable=False),
        sa.Column("purpose", sa.String(length=100), nullable=False),
        sa.Column("model", sa.String(length=120), nullable=False),
        sa.Column("department", sa.String(length=50), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("input", _json(), nullable=False),
        sa.Column("output", _json(), nullable=False),
        sa.Column("trace", _json(), nullable=False),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_evaluations")),
    )
    with op.batch_alter_table("rule_evaluations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rule_evaluations_application_id"), ["application_id"], unique=False
        )
        batch_op.create_index(
            "ix_rule_evaluations_model_at", ["model", "evaluated_at"], unique=False
        )


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("rule_evaluations", schema=None) as batch_op:
        batch_op.drop_index("ix_rule_evaluations_model_at")
        batch_op.drop_index(batch_op.f("ix_rule_evaluations_application_id"))
    op.drop_table("rule_evaluations")
