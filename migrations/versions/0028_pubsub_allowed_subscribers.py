"""IM pub/sub: the machine clients allowed to subscribe to each room, and each subscription's
department (which case events it may receive) (ADR 0057).

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-05 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration: the list, and every client already subscribed stays allowed
    (the room's owner removes it if it should not be), so no running delivery stops silently."""
    op.create_table(
        "pubsub_allowed_subscribers",
        sa.Column("room", sa.String(length=300), nullable=False),
        sa.Column("subscriber", sa.String(length=200), nullable=False),
        sa.Column("subscriber_im", sa.String(length=300), nullable=True),
        sa.Column("added_by", sa.String(length=200), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("room", "subscriber", name=op.f("pk_pubsub_allowed_subscribers")),
    )
    with op.batch_alter_table("pubsub_subscriptions") as batch:
        batch.add_column(sa.Column("subscriber_department", sa.String(length=50), nullable=True))
    op.execute(
        "INSERT INTO pubsub_allowed_subscribers (room, subscriber, subscriber_im, added_by,"
        " added_at) SELECT room, subscriber, MIN(subscriber_im), 'migration:0028',"
        " MIN(created_at) FROM pubsub_subscriptions GROUP BY room, subscriber"
    )


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("pubsub_subscriptions") as batch:
        batch.drop_column("subscriber_department")
    op.drop_table("pubsub_allowed_subscribers")
