"""Payment integrity: the fee-owning department of a payment, one open intent per fee,
refunds recorded as pending until the provider accepts them (ADR 0033).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 06:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    op.add_column("payments", sa.Column("department", sa.String(length=50), nullable=True))
    op.create_index(op.f("ix_payments_department"), "payments", ["department"], unique=False)
    # Existing payments belong to the department of their payment step.
    op.execute(
        "UPDATE payments SET department = (SELECT t.department FROM application_tasks t "
        "WHERE t.idempotency_key = payments.payment_key)"
    )
    # Of several pending intents of one fee only the newest stays open.
    op.execute(
        "UPDATE payments SET state = 'superseded' WHERE state = 'pending' AND EXISTS ("
        "SELECT 1 FROM payments newer WHERE newer.payment_key = payments.payment_key "
        "AND newer.state = 'pending' AND (newer.created_at > payments.created_at "
        "OR (newer.created_at = payments.created_at AND newer.id > payments.id)))"
    )
    op.create_index(
        "uq_payments_one_open",
        "payments",
        ["payment_key"],
        unique=True,
        sqlite_where=sa.text("state = 'pending'"),
        postgresql_where=sa.text("state = 'pending'"),
    )
    # A fee paid twice (possible before): the later success is a superseded attempt to refund.
    op.execute(
        "UPDATE payments SET state = 'superseded' WHERE state = 'succeeded' AND EXISTS ("
        "SELECT 1 FROM payments earlier WHERE earlier.payment_key = payments.payment_key "
        "AND earlier.state = 'succeeded' AND (earlier.created_at < payments.created_at "
        "OR (earlier.created_at = payments.created_at AND earlier.id < payments.id)))"
    )
    op.create_index(
        "uq_payments_one_paid",
        "payments",
        ["payment_key"],
        unique=True,
        sqlite_where=sa.text("state = 'succeeded'"),
        postgresql_where=sa.text("state = 'succeeded'"),
    )
    op.add_column(
        "payment_refunds",
        sa.Column("state", sa.String(length=20), server_default="accepted", nullable=False),
    )


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("payment_refunds") as batch:
        batch.drop_column("state")
    op.drop_index(
        "uq_payments_one_paid",
        table_name="payments",
        sqlite_where=sa.text("state = 'succeeded'"),
        postgresql_where=sa.text("state = 'succeeded'"),
    )
    op.drop_index(
        "uq_payments_one_open",
        table_name="payments",
        sqlite_where=sa.text("state = 'pending'"),
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.drop_index(op.f("ix_payments_department"), table_name="payments")
    with op.batch_alter_table("payments") as batch:
        batch.drop_column("department")
