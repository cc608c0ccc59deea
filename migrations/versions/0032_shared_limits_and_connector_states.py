"""Shared rate-limit windows and the workers' connector states (ADR 0062).

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-05 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "rate_limit_windows",
        sa.Column("bucket", sa.String(length=50), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "bucket", "key", "window_start", name=op.f("pk_rate_limit_windows")
        ),
    )
    op.create_index(
        op.f("ix_rate_limit_windows_window_start"), "rate_limit_windows", ["window_start"]
    )
    op.create_table(
        "worker_connector_states",
        sa.Column("worker_id", sa.String(length=200), nullable=False),
        sa.Column("department", sa.String(length=50), nullable=False),
        sa.Column("breaker_state", sa.String(length=20), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("kind", sa.String(length=50), nullable=True),
        sa.Column("healthy", sa.Boolean(), nullable=True),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("worker_id", "department", name=op.f("pk_worker_connector_states")),
    )


def downgrade() -> None:
    """Revert this migration."""
    op.drop_table("worker_connector_states")
    op.drop_index(op.f("ix_rate_limit_windows_window_start"), table_name="rate_limit_windows")
    op.drop_table("rate_limit_windows")
