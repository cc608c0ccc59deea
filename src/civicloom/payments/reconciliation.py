"""Reconciliation: match a provider settlement file against the payments we hold."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select

from civicloom.audit import AuditAction, AuditRecord, append_audit
from civicloom.kernel import NotFound, Principal, new_id, sha256_hex
from civicloom.payments.domain import Paid, PaymentState, parse_settlement, reconcile
from civicloom.payments.tables import PaymentRow, ReconciliationRow
from civicloom.runtime import Container


@dataclass(frozen=True)
class ReconciliationView:
    """A reconciliation run and its findings."""

    id: str
    provider: str
    matched: int
    unmatched: int
    missing: int
    mismatched: int
    findings: list[dict[str, str]]
    created_at: datetime


def _view(row: ReconciliationRow) -> ReconciliationView:
    return ReconciliationView(
        row.id,
        row.provider,
        row.matched,
        row.unmatched,
        row.missing,
        row.mismatched,
        list(row.findings),
        row.created_at,
    )


async def reconcile_settlement(
    container: Container, principal: Principal, provider: str, text: str
) -> ReconciliationView:
    """Import a settlement CSV, match it to succeeded payments and store the findings."""
    lines = parse_settlement(text)
    now = container.clock.now()
    async with container.uow() as uow:
        rows = await uow.session.scalars(
            select(PaymentRow).where(
                PaymentRow.provider == provider,
                # Money the provider took: paid fees, and replaced attempts paid late (ADR 0033).
                or_(
                    PaymentRow.state == PaymentState.SUCCEEDED.value,
                    and_(
                        PaymentRow.state == PaymentState.SUPERSEDED.value,
                        PaymentRow.paid_at.is_not(None),
                    ),
                ),
                PaymentRow.provider_reference.is_not(None),
            )
        )
        paid = [Paid(r.id, r.provider_reference or "", r.amount_minor, r.currency) for r in rows]
        report = reconcile(lines, paid)
        run = ReconciliationRow(
            id=new_id(),
            provider=provider,
            file_sha256=sha256_hex(text),
            matched=len(report.matched),
            unmatched=len(report.unmatched),
            missing=len(report.missing),
            mismatched=len(report.mismatched),
            findings=report.rows(),
            run_by=principal.audit_name,
            created_at=now,
        )
        uow.session.add(run)
        await append_audit(
            uow.session,
            AuditRecord(
                actor=principal.audit_name,
                action=AuditAction.PAYMENTS_RECONCILED,
                subject_type="reconciliation",
                subject_id=run.id,
                occurred_at=now,
                details={
                    "provider": provider,
                    "matched": run.matched,
                    "unmatched": run.unmatched,
                    "missing": run.missing,
                    "mismatched": run.mismatched,
                },
            ),
        )
        await uow.commit()
        return _view(run)


async def get_reconciliation(container: Container, run_id: str) -> ReconciliationView:
    """One stored reconciliation run."""
    async with container.uow() as uow:
        row = await uow.session.get(ReconciliationRow, run_id)
        if row is None:
            raise NotFound("no such reconciliation")
        return _view(row)


def findings_csv(view: ReconciliationView) -> str:
    """A run's findings as CSV."""
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer, ["status", "provider_reference", "expected", "settled"], lineterminator="\n"
    )
    writer.writeheader()
    writer.writerows(view.findings)
    return buffer.getvalue()
