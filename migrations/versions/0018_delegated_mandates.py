"""Registries: delegated business mandates (ADR 0041).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "registry_delegated_mandates",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("registration_number", sa.String(length=40), nullable=False),
        sa.Column("business_name", sa.String(length=200), nullable=False),
        sa.Column("granted_by", sa.String(length=200), nullable=False),
        sa.Column("delegate", sa.String(length=200), nullable=False),
        sa.Column(
            "services",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_delegated_mandates")),
    )
    op.create_index(
        op.f("ix_registry_delegated_mandates_registration_number"),
        "registry_delegated_mandates",
        ["registration_number"],
    )
    op.create_index(
        op.f("ix_registry_delegated_mandates_delegate"),
        "registry_delegated_mandates",
        ["delegate"],
    )


def downgrade() -> None:
    """Revert this migration."""
    op.drop_index(
        op.f("ix_registry_delegated_mandates_delegate"), table_name="registry_delegated_mandates"
    )
    op.drop_index(
        op.f("ix_registry_delegated_mandates_registration_number"),
        table_name="registry_delegated_mandates",
    )
    op.drop_table("registry_delegated_mandates")
