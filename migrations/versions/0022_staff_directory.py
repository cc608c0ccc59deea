"""Identity: the staff directory and its grants (ADR 0042).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "identity_staff",
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("locale", sa.String(length=10), nullable=False),
        sa.Column("department", sa.String(length=50), nullable=True),
        sa.Column("roles", JSON, nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("signed_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subject", name=op.f("pk_identity_staff")),
    )
    op.create_index(op.f("ix_identity_staff_department"), "identity_staff", ["department"])
    op.create_table(
        "identity_staff_grants",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("department", sa.String(length=50), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("role", sa.String(length=50), nullable=True),
        sa.Column("delegate", sa.String(length=200), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("granted_by", sa.String(length=200), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_staff_grants")),
    )
    op.create_index(
        op.f("ix_identity_staff_grants_department"), "identity_staff_grants", ["department"]
    )
    op.create_index(op.f("ix_identity_staff_grants_subject"), "identity_staff_grants", ["subject"])


def downgrade() -> None:
    """Revert this migration."""
    op.drop_index(op.f("ix_identity_staff_grants_subject"), table_name="identity_staff_grants")
    op.drop_index(op.f("ix_identity_staff_grants_department"), table_name="identity_staff_grants")
    op.drop_table("identity_staff_grants")
    op.drop_index(op.f("ix_identity_staff_department"), table_name="identity_staff")
    op.drop_table("identity_staff")
