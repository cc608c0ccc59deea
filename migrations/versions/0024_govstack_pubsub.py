"""GovStack IM pub/sub: event types, subscriptions, published events, deliveries; KPI aggregates
for the public statistics (ADR 0054).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
SEQUENCE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "pubsub_event_types",
        sa.Column("room", sa.String(length=300), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("schema", JSON, nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("room", "event_type", name=op.f("pk_pubsub_event_types")),
    )
    op.create_table(
        "pubsub_subscriptions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("room", sa.String(length=300), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("subscriber", sa.String(length=200), nullable=False),
        sa.Column("subscriber_im", sa.String(length=300), nullable=True),
        sa.Column("delivery", sa.String(length=10), nullable=False),
        sa.Column("push_url", sa.String(length=500), nullable=True),
        sa.Column("ttl_seconds", sa.Integer(), nullable=False),
        sa.Column("fifo", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pubsub_subscriptions")),
        sa.UniqueConstraint(
            "room",
            "event_type",
            "subscriber",
            name=op.f("uq_pubsub_subscriptions_room"),
        ),
    )
    op.create_table(
        "pubsub_events",
        sa.Column("sequence", SEQUENCE, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("room", sa.String(length=300), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("publisher", sa.String(length=200), nullable=False),
        sa.Column("publisher_im", sa.String(length=300), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("body_hash", sa.String(length=64), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("sequence", name=op.f("pk_pubsub_events")),
        sa.UniqueConstraint("id", name=op.f("uq_pubsub_events_id")),
        sa.UniqueConstraint(
            "publisher", "idempotency_key", name=op.f("uq_pubsub_events_publisher")
        ),
    )
    op.create_index("ix_pubsub_events_room_type", "pubsub_events", ["room", "event_type"])
    op.create_table(
        "pubsub_deliveries",
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("subscription_id", sa.String(length=36), nullable=False),
        sa.Column("sequence", SEQUENCE, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("event_id", "subscription_id", name=op.f("pk_pubsub_deliveries")),
    )
    op.create_index("ix_pubsub_deliveries_due", "pubsub_deliveries", ["subscription_id", "status"])
    op.create_table(
        "kpi_service_day_states",
        sa.Column("service", sa.String(length=100), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=30), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("service", "day", "state", name=op.f("pk_kpi_service_day_states")),
    )
    op.create_table(
        "kpi_watermarks",
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("changed_upto", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_kpi_watermarks")),
    )


def downgrade() -> None:
    """Revert this migration."""
    op.drop_table("kpi_watermarks")
    op.drop_table("kpi_service_day_states")
    op.drop_index("ix_pubsub_deliveries_due", table_name="pubsub_deliveries")
    op.drop_table("pubsub_deliveries")
    op.drop_index("ix_pubsub_events_room_type", table_name="pubsub_events")
    op.drop_table("pubsub_events")
    op.drop_table("pubsub_subscriptions")
    op.drop_table("pubsub_event_types")
