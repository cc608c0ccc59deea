"""Reviews of refusals: an applicant asks, a reviewer of the refusing department decides
(ADR 0059).

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-05 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "application_reviews",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("application_id", sa.String(length=36), nullable=False),
        sa.Column("refused_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("step_id", sa.String(length=100), nullable=False),
        sa.Column("department", sa.String(length=50), nullable=False),
        sa.Column("refused_by", sa.String(length=200), nullable=True),
        sa.Column("refusal_reason", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("document_id", sa.String(length=36), nullable=True),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_application_reviews_application_id_applications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_reviews")),
        sa.UniqueConstraint("application_id", "refused_at", name="uq_application_reviews_refusal"),
    )
    op.create_index(
        op.f("ix_application_reviews_application_id"),
        "application_reviews",
        ["application_id"],
        unique=False,
    )
    op.create_index(
        "ix_application_reviews_queue",
        "application_reviews",
        ["department", "state"],
        unique=False,
    )


def downgrade() -> None:
    """Revert this migration."""
    op.drop_index("ix_application_reviews_queue", table_name="application_reviews")
    op.drop_index(op.f("ix_application_reviews_application_id"), table_name="application_reviews")
    op.drop_table("application_reviews")
