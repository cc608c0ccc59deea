"""Portal: feedback from the Beta banner's link (issue 19).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "portal_feedback",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("rating", sa.String(length=20), nullable=False),
        sa.Column("comment", sa.String(length=1200), nullable=False),
        sa.Column("page", sa.String(length=300), nullable=False),
        sa.Column("locale", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_feedback")),
    )
    op.create_index(op.f("ix_portal_feedback_created_at"), "portal_feedback", ["created_at"])


def downgrade() -> None:
    """Revert this migration."""
    op.drop_index(op.f("ix_portal_feedback_created_at"), table_name="portal_feedback")
    op.drop_table("portal_feedback")
