"""case engine: tasks, timeline, dead letters; decision fields on applications

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 04:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table("applications") as batch:
        batch.add_column(sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("outcome_reason", sa.Text(), nullable=True))

    op.create_table(
        "application_tasks",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("application_id", sa.String(length=36), nullable=False),
        sa.Column("step_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("department", sa.String(length=50), nullable=True),
        sa.Column("role", sa.String(length=100), nullable=True),
        sa.Column("capability", sa.String(length=100), nullable=True),
        sa.Column("retry_policy", JSON, nullable=True),
        sa.Column("state", sa.String(length=30), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=200), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("input", JSON, nullable=True),
        sa.Column("output", JSON, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("assignee", sa.String(length=200), nullable=True),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sla_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name="fk_application_tasks_application_id_applications",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_application_tasks"),
        sa.UniqueConstraint("application_id", "step_id", name="uq_application_tasks_step"),
        sa.UniqueConstraint("idempotency_key", name="uq_application_tasks_idempotency_key"),
    )
    op.create_index("ix_application_tasks_due", "application_tasks", ["state", "due_at"])
    op.create_index("ix_application_tasks_queue", "application_tasks", ["department", "state"])
    op.create_index("ix_application_tasks_application_id", "application_tasks", ["application_id"])
    op.create_index("ix_application_tasks_assignee", "application_tasks", ["assignee"])
    op.create_index("ix_application_tasks_sla_due_at", "application_tasks", ["sla_due_at"])

    op.create_table(
        "application_timeline",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("application_id", sa.String(length=36), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event", sa.String(length=60), nullable=False),
        sa.Column("step_id", sa.String(length=100), nullable=True),
        sa.Column("department", sa.String(length=50), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("visible_to_applicant", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name="fk_application_timeline_application_id_applications",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_application_timeline"),
    )
    op.create_index(
        "ix_application_timeline_application_id", "application_timeline", ["application_id"]
    )

    op.create_table(
        "dead_letters",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("application_id", sa.String(length=36), nullable=False),
        sa.Column("department", sa.String(length=50), nullable=True),
        sa.Column("capability", sa.String(length=100), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("payload_summary", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.String(length=20), nullable=True),
        sa.Column("resolved_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name="fk_dead_letters_application_id_applications",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["application_tasks.id"], name="fk_dead_letters_task_id_application_tasks"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_dead_letters"),
    )
    op.create_index("ix_dead_letters_application_id", "dead_letters", ["application_id"])
    op.create_index("ix_dead_letters_task_id", "dead_letters", ["task_id"])
    op.create_index("ix_dead_letters_department", "dead_letters", ["department"])


def downgrade() -> None:
    """Revert this migration."""
    op.drop_table("dead_letters")
    op.drop_table("application_timeline")
    op.drop_table("application_tasks")
    with op.batch_alter_table("applications") as batch:
        batch.drop_column("outcome_reason")
        batch.drop_column("decided_at")
        batch.drop_column("deadline_at")
