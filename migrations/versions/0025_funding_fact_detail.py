"""Funding: a ``detail`` key on the daily usage facts (connector kind, provider, API client).

The fact table is a cache of the platform's own records (ADR 0040): upgrading and downgrading
drop and recreate it, and the worker's ``usage-facts`` job rebuilds it from the start of the
financial year on its next run (an empty table is its first run).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "funding_usage_facts"
INDEX = "ix_funding_usage_facts_department_day"


def _create(with_detail: bool) -> None:
    key = ["day", "department", "service", "meter"] + (["detail"] if with_detail else [])
    columns = [
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("department", sa.String(length=50), nullable=False),
        sa.Column("service", sa.String(length=100), nullable=False),
        sa.Column("meter", sa.String(length=40), nullable=False),
    ]
    if with_detail:
        columns.append(sa.Column("detail", sa.String(length=60), nullable=False))
    op.create_table(
        TABLE,
        *columns,
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(*key, name=op.f("pk_funding_usage_facts")),
    )
    op.create_index(INDEX, TABLE, ["department", "day"])


def _drop() -> None:
    op.drop_index(INDEX, table_name=TABLE)
    op.drop_table(TABLE)


def upgrade() -> None:
    """Apply this migration."""
    _drop()
    _create(with_detail=True)


def downgrade() -> None:
    """Revert this migration."""
    _drop()
    _create(with_detail=False)
