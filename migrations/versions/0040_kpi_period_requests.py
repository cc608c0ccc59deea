"""KPI periods asked for and not yet computed (issue 23, ADR 0082): a request for a period with
no stored report records the period here; the worker computes them one at a time, oldest first.

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-06 02:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0040"
down_revision: str | None = "0039"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "kpi_period_requests",
        sa.Column("service", sa.String(length=100), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("service", "first_day", "last_day"),
    )
    op.create_index("ix_kpi_period_requests_requested_at", "kpi_period_requests", ["requested_at"])


def downgrade() -> None:
    """Revert this migration."""
    op.drop_index("ix_kpi_period_requests_requested_at", table_name="kpi_period_requests")
    op.drop_table("kpi_period_requests")
