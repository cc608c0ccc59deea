"""Payments domain: money in minor units, payment states, webhook events, reconciliation.

Pure: no database, web or HTTP code.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum

from civicloom.kernel import FieldError, ValidationFailed

MINOR_DIGITS = 2  # every demo currency (EUR) has cents; ISO 4217 exponents elsewhere
MAX_MINOR = 10**13  # 100 billion in major units: far above any fee, far below BIGINT


class PaymentState(StrEnum):
    """Where a payment stands at the provider."""

    PENDING = "pending"  # intent created; the payer is on (or on the way to) the hosted page
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    ABANDONED = "abandoned"
    SUPERSEDED = "superseded"  # a newer attempt replaced it; it can no longer pay the fee

    @property
    def is_final(self) -> bool:
        """Whether the provider will say nothing more about it."""
        return self is not PaymentState.PENDING


class RefundState(StrEnum):
    """Where a refund stands: recorded as pending before the provider is asked."""

    PENDING = "pending"  # reserved; the provider has not (yet) accepted it
    ACCEPTED = "accepted"  # the provider accepted it; announced to the citizen
    FAILED = "failed"  # the provider refused it; the reserved amount is free again


_PLAIN_DECIMAL = re.compile(r"^[0-9]{1,15}(\.[0-9]+)?$")


def to_minor(amount: object, field_name: str = "amount") -> int:
    """A decimal amount (``400``, ``"12.50"``) in minor units; refuses more than 2 decimals.

    Text must be a plain decimal (no exponent, sign or spaces); amounts of ``MAX_MINOR`` minor
    units or more are refused, so nothing downstream overflows.
    """
    if isinstance(amount, str) and not _PLAIN_DECIMAL.match(amount):
        raise ValidationFailed(
            [FieldError(field_name, "decimal", "must be a decimal amount like 12.50")]
        )
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        raise ValidationFailed(
            [FieldError(field_name, "decimal", "must be a decimal amount like 12.50")]
        ) from None
    if not value.is_finite() or abs(value) >= Decimal(MAX_MINOR) / (10**MINOR_DIGITS):
        raise ValidationFailed(
            [FieldError(field_name, "maximum", "must be a decimal amount below 100000000000")]
        )
    minor = value * (10**MINOR_DIGITS)
    if minor != minor.to_integral_value():
        raise ValidationFailed([FieldError(field_name, "decimal", "at most two decimal places")])
    if minor <= 0:
        raise ValidationFailed([FieldError(field_name, "positive", "must be more than zero")])
    return int(minor)


def format_minor(minor: int) -> str:
    """Minor units as a decimal string with two places (``40000`` → ``"400.00"``)."""
    value = (Decimal(minor) / (10**MINOR_DIGITS)).quantize(
        Decimal(1) / (10**MINOR_DIGITS), rounding=ROUND_HALF_UP
    )
    return str(value)


@dataclass(frozen=True)
class ProviderIntent:
    """What the provider answered when asked to take a payment."""

    provider_reference: str
    next_url: str  # the hosted payment page the payer is sent to


@dataclass(frozen=True)
class ProviderRefund:
    """What the provider answered when asked to refund."""

    provider_reference: str
    status: str


@dataclass(frozen=True)
class WebhookEvent:
    """A verified provider notification about a payment intent."""

    event_id: str
    type: str  # payment.succeeded | payment.declined | payment.abandoned
    provider_reference: str
    amount_minor: int
    currency: str

    @property
    def state(self) -> PaymentState | None:
        """The state the event moves the payment to (None: not about the payment state)."""
        return {
            "payment.succeeded": PaymentState.SUCCEEDED,
            "payment.declined": PaymentState.DECLINED,
            "payment.abandoned": PaymentState.ABANDONED,
        }.get(self.type)


class WebhookRejected(Exception):
    """A webhook whose signature, timestamp or body cannot be trusted."""


# -- reconciliation ------------------------------------------------------------------------

SETTLEMENT_HEADER = ["provider_reference", "amount", "currency", "settled_at"]


@dataclass(frozen=True)
class SettlementLine:
    """One line of a provider settlement file."""

    line: int
    provider_reference: str
    amount_minor: int
    currency: str
    settled_at: str


@dataclass(frozen=True)
class Paid:
    """A payment the platform believes succeeded (the other side of a reconciliation)."""

    payment_id: str
    provider_reference: str
    amount_minor: int
    currency: str


@dataclass
class ReconciliationReport:
    """Matched, unmatched (only in the file), missing (only with us) and mismatched lines."""

    matched: list[str] = field(default_factory=list)
    unmatched: list[SettlementLine] = field(default_factory=list)
    missing: list[Paid] = field(default_factory=list)
    mismatched: list[tuple[SettlementLine, Paid]] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """Whether everything matched."""
        return not (self.unmatched or self.missing or self.mismatched)

    def rows(self) -> list[dict[str, str]]:
        """One row per finding, for CSV and JSON."""
        out = [
            {"status": "matched", "provider_reference": ref, "expected": "", "settled": ""}
            for ref in self.matched
        ]
        out += [
            {
                "status": "unmatched",
                "provider_reference": s.provider_reference,
                "expected": "",
                "settled": f"{format_minor(s.amount_minor)} {s.currency}",
            }
            for s in self.unmatched
        ]
        out += [
            {
                "status": "missing",
                "provider_reference": p.provider_reference,
                "expected": f"{format_minor(p.amount_minor)} {p.currency}",
                "settled": "",
            }
            for p in self.missing
        ]
        out += [
            {
                "status": "mismatched",
                "provider_reference": s.provider_reference,
                "expected": f"{format_minor(p.amount_minor)} {p.currency}",
                "settled": f"{format_minor(s.amount_minor)} {s.currency}",
            }
            for s, p in self.mismatched
        ]
        return out

    def to_csv(self) -> str:
        """The findings as CSV (``status,provider_reference,expected,settled``)."""
        buffer = io.StringIO()
        writer = csv.DictWriter(
            buffer, ["status", "provider_reference", "expected", "settled"], lineterminator="\n"
        )
        writer.writeheader()
        writer.writerows(self.rows())
        return buffer.getvalue()


def parse_settlement(text: str) -> list[SettlementLine]:
    """Parse a settlement CSV; every broken line is reported with its number."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or [h.strip() for h in header] != SETTLEMENT_HEADER:
        raise ValidationFailed(
            [FieldError("file", "header", f"first line must be {','.join(SETTLEMENT_HEADER)}")]
        )
    lines, errors = [], []
    for number, row in enumerate(reader, start=2):
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) != len(SETTLEMENT_HEADER):
            errors.append(FieldError(f"file:{number}", "columns", "expected 4 columns"))
            continue
        ref, amount, currency, settled_at = (cell.strip() for cell in row)
        try:
            minor = to_minor(amount)
        except ValidationFailed:
            errors.append(
                FieldError(
                    f"file:{number}",
                    "amount",
                    f"line {number}: amount {amount[:20]!r} is not a positive decimal "
                    "below 100000000000 with at most two decimals",
                )
            )
            continue
        lines.append(SettlementLine(number, ref, minor, currency.upper(), settled_at))
    if errors:
        raise ValidationFailed(errors)
    return lines


def reconcile(lines: list[SettlementLine], paid: list[Paid]) -> ReconciliationReport:
    """Match settlement lines to payments by provider reference."""
    report = ReconciliationReport()
    ours = {p.provider_reference: p for p in paid}
    seen: set[str] = set()
    for line in lines:
        payment = ours.get(line.provider_reference)
        if payment is None or line.provider_reference in seen:
            report.unmatched.append(line)
            continue
        seen.add(line.provider_reference)
        if payment.amount_minor != line.amount_minor or payment.currency != line.currency:
            report.mismatched.append((line, payment))
        else:
            report.matched.append(line.provider_reference)
    report.missing = [p for ref, p in ours.items() if ref not in seen]
    return report
