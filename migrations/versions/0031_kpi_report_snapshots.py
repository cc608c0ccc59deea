"""KPI report snapshots: what the public performance page and the KPI dashboard read instead
of recomputing a period's applications per request (ADR 0061); a citizen's applications and the
operator's dead letters keyset-paged over indexes.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-05 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "kpi_report_snapshots",
        sa.Column("service", sa.String(length=100), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("etag", sa.String(length=64), nullable=False),
        sa.Column("report", JSON, nullable=False),
        sa.PrimaryKeyConstraint(
            "service", "first_day", "last_day", name=op.f("pk_kpi_report_snapshots")
        ),
    )
    # a citizen's applications, keyset-paged newest first (issue 23)
    op.create_index(
        "ix_applications_applicant_submitted",
        "applications",
        ["applicant_id", "submitted_at", "id"],
    )
    op.create_index("ix_dead_letters_created", "dead_letters", ["created_at", "id"])
    op.create_index(
        op.f("ix_kpi_report_snapshots_generated_at"),
        "kpi_report_snapshots",
        ["generated_at"],
    )


def downgrade() -> None:
    """Revert this migration."""
    op.drop_index(op.f("ix_kpi_report_snapshots_generated_at"), "kpi_report_snapshots")
    op.drop_table("kpi_report_snapshots")
    op.drop_index("ix_applications_applicant_submitted", "applications")
    op.drop_index("ix_dead_letters_created", "dead_letters")
