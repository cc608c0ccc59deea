"""A service's applications in submission order by an index (issue 23, ADR 0074): the KPI report
reads a period a chunk at a time, keyset on ``(submitted_at, id)``, each chunk a range of this
index instead of a sort of the whole period (or a walk over every service's applications).

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-05 22:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0039"
down_revision: str | None = "0038"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_index(
        "ix_applications_service_submitted",
        "applications",
        ["service_id", "submitted_at", "id"],
        unique=False,
    )


def downgrade() -> None:
    """Revert this migration."""
    op.drop_index("ix_applications_service_submitted", table_name="applications")
