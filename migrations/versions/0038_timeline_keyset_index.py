"""An application's timeline is read a page at a time, newest first (issue 23, ADR 0075): an
index on (application_id, id) is walked backwards from a cursor and stops after a page. It
replaces the index on application_id alone, whose entries are in no useful order (every page
read and sorted the whole timeline) and which the new index serves as well.

On a large database the index can be built beforehand without blocking writers
(``CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_application_timeline_application_id_id ON
application_timeline (application_id, id)``): this migration then only drops the old one.

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-05 22:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0038"
down_revision: str | None = "0037"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "application_timeline"
NEW = "ix_application_timeline_application_id_id"
OLD = "ix_application_timeline_application_id"


def upgrade() -> None:
    """Apply this migration (the new index first: lookups by application never lack one)."""
    op.create_index(NEW, TABLE, ["application_id", "id"], unique=False, if_not_exists=True)
    op.drop_index(OLD, table_name=TABLE, if_exists=True)


def downgrade() -> None:
    """Revert this migration."""
    op.create_index(OLD, TABLE, ["application_id"], unique=False, if_not_exists=True)
    op.drop_index(NEW, table_name=TABLE, if_exists=True)
