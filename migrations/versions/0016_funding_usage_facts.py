"""Funding: the daily usage fact table (per day, department, service and meter).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "funding_usage_facts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("department", sa.String(length=50), nullable=False),
        sa.Column("service", sa.String(length=100), nullable=False),
        sa.Column("meter", sa.String(length=40), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "department", "service", "meter", name=op.f("pk_funding_usage_facts")
        ),
    )
    op.create_index(
        "ix_funding_usage_facts_department_day", "funding_usage_facts", ["department", "day"]
    )


def downgrade() -> None:
    """Revert this migration."""
    op.drop_index("ix_funding_usage_facts_department_day", table_name="funding_usage_facts")
    op.drop_table("funding_usage_facts")
