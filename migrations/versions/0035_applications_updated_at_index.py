"""Applications changed since a watermark are found by an index (issue 23, ADR 0066): the KPI
aggregates' job reads only what changed instead of scanning every application each minute.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-05 19:05:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0035"
down_revision: str | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table("applications") as batch:
        batch.create_index(batch.f("ix_applications_updated_at"), ["updated_at"], unique=False)


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("applications") as batch:
        batch.drop_index(batch.f("ix_applications_updated_at"))
