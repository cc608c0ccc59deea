"""Governance: change requests and their approvals (ADR 0049).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "governance_change_requests",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("author_name", sa.String(length=200), nullable=False),
        sa.Column("author_department", sa.String(length=50), nullable=True),
        sa.Column("files", JSON, nullable=False),
        sa.Column("base_files", JSON, nullable=False),
        sa.Column("required", JSON, nullable=False),
        sa.Column("checks", JSON, nullable=False),
        sa.Column("diff", JSON, nullable=False),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source_environment", sa.String(length=100), nullable=True),
        sa.Column("bundle_id", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_governance_change_requests")),
    )
    op.create_index(
        "ix_governance_change_requests_target",
        "governance_change_requests",
        ["kind", "target"],
    )
    op.create_index(
        "ix_governance_change_requests_state_effective",
        "governance_change_requests",
        ["state", "effective_at"],
    )
    op.create_table(
        "governance_change_approvals",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("change_id", sa.String(length=36), nullable=False),
        sa.Column("party", sa.String(length=50), nullable=False),
        sa.Column("approver", sa.String(length=200), nullable=False),
        sa.Column("approver_name", sa.String(length=200), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["change_id"],
            ["governance_change_requests.id"],
            name=op.f("fk_governance_change_approvals_change_id_governance_change_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_governance_change_approvals")),
        sa.UniqueConstraint("change_id", "party", name="uq_governance_change_approvals_party"),
        sa.UniqueConstraint(
            "change_id", "approver", name="uq_governance_change_approvals_approver"
        ),
    )
    op.create_index(
        op.f("ix_governance_change_approvals_change_id"),
        "governance_change_approvals",
        ["change_id"],
    )


def downgrade() -> None:
    """Revert this migration."""
    op.drop_index(
        op.f("ix_governance_change_approvals_change_id"), table_name="governance_change_approvals"
    )
    op.drop_table("governance_change_approvals")
    op.drop_index(
        "ix_governance_change_requests_state_effective", table_name="governance_change_requests"
    )
    op.drop_index("ix_governance_change_requests_target", table_name="governance_change_requests")
    op.drop_table("governance_change_requests")
