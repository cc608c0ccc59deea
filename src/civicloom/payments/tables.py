"""Tables of payments: intents, refunds, seen webhooks and reconciliation runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from civicloom.db import Base, JSONValue, UTCDateTime


class PaymentRow(Base):
    """One payment intent for an application's payment step (at most one pending per fee)."""

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("payer_id", "idempotency_key", name="uq_payments_idempotency"),
        # One open intent per fee: a new attempt supersedes the pending one in the same commit.
        Index(
            "uq_payments_one_open",
            "payment_key",
            unique=True,
            sqlite_where=text("state = 'pending'"),
            postgresql_where=text("state = 'pending'"),
        ),
        # A fee is paid once: a second success (a late or parallel attempt) is never "succeeded".
        Index(
            "uq_payments_one_paid",
            "payment_key",
            unique=True,
            sqlite_where=text("state = 'succeeded'"),
            postgresql_where=text("state = 'succeeded'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    payment_key: Mapped[str] = mapped_column(String(200), index=True)  # the step's key
    department: Mapped[str | None] = mapped_column(String(50), index=True)  # owns the fee
    payer_id: Mapped[str] = mapped_column(String(200))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    provider: Mapped[str] = mapped_column(String(50))
    provider_reference: Mapped[str | None] = mapped_column(String(100), unique=True)
    next_url: Mapped[str | None] = mapped_column(Text)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    state: Mapped[str] = mapped_column(String(20), index=True)
    fee_evaluation_id: Mapped[str | None] = mapped_column(String(36))  # the rule trace
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RefundRow(Base):
    """A full or partial refund of a payment."""

    __tablename__ = "payment_refunds"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.id"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    provider_reference: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(20), server_default="accepted")  # RefundState
    requested_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PaymentWebhookRow(Base):
    """A provider webhook already handled (its event id is never handled twice)."""

    __tablename__ = "payment_webhooks"
    __table_args__ = (UniqueConstraint("provider", "event_id", name="uq_payment_webhooks_event"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    provider: Mapped[str] = mapped_column(String(50))
    event_id: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(50))
    provider_reference: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReconciliationRow(Base):
    """One reconciliation run of a provider settlement file, with its findings."""

    __tablename__ = "payment_reconciliations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    provider: Mapped[str] = mapped_column(String(50))
    file_sha256: Mapped[str] = mapped_column(String(64))
    matched: Mapped[int] = mapped_column(Integer)
    unmatched: Mapped[int] = mapped_column(Integer)
    missing: Mapped[int] = mapped_column(Integer)
    mismatched: Mapped[int] = mapped_column(Integer)
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSONValue)
    run_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
