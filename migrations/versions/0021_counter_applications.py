"""Portal: applications made at a service counter, their identity checks and claim codes
(ADR 0044).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "portal_counter_applications",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("application_id", sa.String(length=36), nullable=False),
        sa.Column("reference", sa.String(length=30), nullable=False),
        sa.Column("service_id", sa.String(length=100), nullable=False),
        sa.Column("officer", sa.String(length=200), nullable=False),
        sa.Column("department", sa.String(length=50), nullable=True),
        sa.Column("represents", sa.String(length=20), nullable=False),
        sa.Column("name_on_document", sa.String(length=200), nullable=False),
        sa.Column("document_type", sa.String(length=30), nullable=False),
        sa.Column("document_number_hint", sa.String(length=20), nullable=False),
        sa.Column("declaration", sa.String(length=40), nullable=False),
        sa.Column("claim_code_hash", sa.String(length=64), nullable=False),
        sa.Column("claim_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("person_hash", sa.String(length=64), nullable=True),
        sa.Column("document_number_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_counter_applications")),
        sa.UniqueConstraint(
            "application_id", name=op.f("uq_portal_counter_applications_application_id")
        ),
        sa.UniqueConstraint(
            "claim_code_hash", name=op.f("uq_portal_counter_applications_claim_code_hash")
        ),
    )
    op.create_index(
        op.f("ix_portal_counter_applications_department"),
        "portal_counter_applications",
        ["department"],
    )


def downgrade() -> None:
    """Revert this migration."""
    op.drop_index(
        op.f("ix_portal_counter_applications_department"),
        table_name="portal_counter_applications",
    )
    op.drop_table("portal_counter_applications")
