"""The work queue's keyset index over open human tasks, and trigram indexes for the staff
case search by business or director name on PostgreSQL (with an expression index on the
registration number it is compared with in the same statement) (issue 23, ADR 0065).

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-05 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0036"
down_revision: str | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_HUMAN = "state IN ('awaiting_officer', 'awaiting_applicant')"
# (named in ``civicloom.applications.tables.POSTGRES_SEARCH_INDEXES``, not in the models)
# the answers searched by "contains" (``civicloom.applications.search``): PostgreSQL only,
# SQLite scans with LIKE (ADR 0063, 0065)
TRIGRAM_FIELDS = ("business_name", "director_name")
# and the ones searched by "equals, ignoring case": without an index on them, an OR of the
# conditions cannot be a BitmapOr of indexes and the whole table is scanned
EXACT_FIELDS = ("business_registration_number",)


def upgrade() -> None:
    """Apply this migration."""
    op.create_index(
        "ix_application_tasks_open_queue",
        "application_tasks",
        ["department", "sla_due_at", "id"],
        unique=False,
        postgresql_where=sa.text(OPEN_HUMAN),
    )
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name in TRIGRAM_FIELDS:
        op.execute(
            f"CREATE INDEX ix_applications_{name}_trgm ON applications "
            f"USING gin (lower(data ->> '{name}') gin_trgm_ops)"
        )
    for name in EXACT_FIELDS:
        op.execute(
            f"CREATE INDEX ix_applications_{name}_upper ON applications (upper(data ->> '{name}'))"
        )


def downgrade() -> None:
    """Revert this migration (the extension stays: other databases' objects may use it)."""
    if op.get_context().dialect.name == "postgresql":
        for name in TRIGRAM_FIELDS:
            op.execute(f"DROP INDEX IF EXISTS ix_applications_{name}_trgm")
        for name in EXACT_FIELDS:
            op.execute(f"DROP INDEX IF EXISTS ix_applications_{name}_upper")
    op.drop_index("ix_application_tasks_open_queue", table_name="application_tasks")
