"""The payments API contract (separate from the tables)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from civicloom.payments.reconciliation import ReconciliationView
from civicloom.payments.refunds import RefundView
from civicloom.payments.services import PaymentView


class PaymentProblem(BaseModel):
    """RFC 9457 problem details, as every error of the payments API is answered."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    request_id: str | None = None
    errors: list[dict[str, str]] | None = None


PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"model": PaymentProblem, "content": {"application/problem+json": {}}}
    for code in (400, 401, 403, 404, 409, 422, 503)
}


_URL_CHAR = r"[^\s\x00-\x1f\x7f\\]"  # no space, control character or backslash
RETURN_URL_PATTERN = rf"^/([^\s\x00-\x1f\x7f/\\]{_URL_CHAR}*)?$"
"""A path on this site (``/applications/…``): never another host, ``//host`` or ``/\\host``
(browsers read a backslash as a slash), so the payer can only come back to the platform."""
AMOUNT_PATTERN = r"^([1-9][0-9]{0,10}(\.[0-9]{1,2})?|0\.([1-9][0-9]?|0[1-9]))$"
"""A positive decimal amount below 100000000000 with at most two decimals, no leading zero."""


class PaymentCreate(
    BaseModel,
    json_schema_extra={"examples": [{"return_url": "/applications/01JF8ZQ6V3K2M7N4P5R8S9T0WX"}]},
):
    """Start paying the fee that is due; the payer comes back to ``return_url``."""

    return_url: str = Field(
        min_length=1,
        max_length=2000,
        pattern=RETURN_URL_PATTERN,
        description="A path on this site (`/applications/…`) the payer comes back to; "
        "another host, `//host` or a backslash is refused (no open redirect).",
    )


class PaymentOut(
    BaseModel,
    json_schema_extra={
        "examples": [
            {
                "id": "01JF8ZV5PA7Y9Z1A3B5C7D9E1F",
                "application_id": "01JF8ZQ6V3K2M7N4P5R8S9T0WX",
                "state": "created",
                "amount": "250.00",
                "currency": "EUR",
                "refunded": "0.00",
                "provider": "payments-simulator",
                "provider_reference": "pay_7Q2K9",
                "next_url": "https://pay.example.org/pay/pay_7Q2K9",
                "fee_evaluation_id": "01JF8ZV0FE3X5Y7Z9A1B3C5D7E",
                "created_at": "2026-03-02T09:30:00Z",
                "paid_at": None,
            }
        ]
    },
):
    """A payment; follow ``next_url`` to the provider's hosted payment page while pending."""

    id: str
    application_id: str
    state: str
    amount: str
    currency: str
    refunded: str
    provider: str
    provider_reference: str | None
    next_url: str | None
    fee_evaluation_id: str | None = Field(description="The recorded fee decision (rule trace).")
    created_at: datetime
    paid_at: datetime | None

    @classmethod
    def of(cls, view: PaymentView) -> PaymentOut:
        """From the service view."""
        return cls(**view.__dict__)


class RefundCreate(
    BaseModel,
    json_schema_extra={
        "examples": [
            {"amount": "100.00", "reason": "Seating reduced before the licence was issued."}
        ]
    },
):
    """Refund part or all of a paid fee."""

    amount: str = Field(
        pattern=AMOUNT_PATTERN,
        max_length=14,
        description="More than zero, at most two decimals, e.g. 100.00 (never more than was "
        "paid and not yet refunded: a 422 naming `amount`).",
    )
    reason: str = Field(min_length=3, max_length=500)


class RefundOut(
    BaseModel,
    json_schema_extra={
        "examples": [
            {
                "id": "01JF8ZW7RF9A1B3C5D7E9F1G3H",
                "payment_id": "01JF8ZV5PA7Y9Z1A3B5C7D9E1F",
                "amount": "100.00",
                "reason": "Seating reduced before the licence was issued.",
                "state": "requested",
                "provider_reference": None,
                "created_at": "2026-03-02T09:30:00Z",
            }
        ]
    },
):
    """A refund."""

    id: str
    payment_id: str
    amount: str
    reason: str
    state: str = Field(
        description="pending (the provider has not accepted it yet), accepted or failed"
    )
    provider_reference: str | None
    created_at: datetime

    @classmethod
    def of(cls, view: RefundView) -> RefundOut:
        """From the service view."""
        return cls(**view.__dict__)


class ReconciliationOut(
    BaseModel,
    json_schema_extra={
        "examples": [
            {
                "id": "01JF8ZX9RC1B3C5D7E9F1G3H5J",
                "provider": "payments-simulator",
                "matched": 41,
                "unmatched": 0,
                "missing": 1,
                "mismatched": 0,
                "findings": [{"kind": "missing", "provider_reference": "pay_8R3L0"}],
                "created_at": "2026-03-02T09:30:00Z",
            }
        ]
    },
):
    """A reconciliation run with every finding."""

    id: str
    provider: str
    matched: int
    unmatched: int
    missing: int
    mismatched: int
    findings: list[dict[str, str]]
    created_at: datetime

    @classmethod
    def of(cls, view: ReconciliationView) -> ReconciliationOut:
        """From the service view."""
        return cls(**view.__dict__)
