"""portal drafts: applications being filled in, saved to resume later

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 04:43:36.442535
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "portal_drafts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("applicant_id", sa.String(length=200), nullable=False),
        sa.Column("service_id", sa.String(length=100), nullable=False),
        sa.Column("blueprint_version_id", sa.String(length=36), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("prefilled", JSON, nullable=False),
        sa.Column("prefill_consent", sa.String(length=10), nullable=True),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("application_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["blueprint_version_id"],
            ["blueprint_versions.id"],
            name=op.f("fk_portal_drafts_blueprint_version_id_blueprint_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_drafts")),
    )
    with op.batch_alter_table("portal_drafts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_portal_drafts_applicant_id"), ["applicant_id"], unique=False
        )


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("portal_drafts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portal_drafts_applicant_id"))
    op.drop_table("portal_drafts")
