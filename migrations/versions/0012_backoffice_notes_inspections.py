"""back office: officers' internal notes and planned inspections

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27 04:51:36.162029
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "case_notes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("application_id", sa.String(length=36), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("department", sa.String(length=50), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("author_name", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_case_notes_application_id_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["application_tasks.id"],
            name=op.f("fk_case_notes_task_id_application_tasks"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_notes")),
    )
    with op.batch_alter_table("case_notes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_notes_application_id"), ["application_id"], unique=False
        )
        batch_op.create_index("ix_case_notes_task", ["task_id", "created_at"], unique=False)

    op.create_table(
        "inspection_appointments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("application_id", sa.String(length=36), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("department", sa.String(length=50), nullable=False),
        sa.Column("planned_on", sa.Date(), nullable=False),
        sa.Column("inspector", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_inspection_appointments_application_id_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["application_tasks.id"],
            name=op.f("fk_inspection_appointments_task_id_application_tasks"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_appointments")),
    )
    with op.batch_alter_table("inspection_appointments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inspection_appointments_application_id"),
            ["application_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_inspection_appointments_task_id"), ["task_id"], unique=False
        )


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("inspection_appointments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inspection_appointments_task_id"))
        batch_op.drop_index(batch_op.f("ix_inspection_appointments_application_id"))

    op.drop_table("inspection_appointments")
    with op.batch_alter_table("case_notes", schema=None) as batch_op:
        batch_op.drop_index("ix_case_notes_task")
        batch_op.drop_index(batch_op.f("ix_case_notes_application_id"))

    op.drop_table("case_notes")
