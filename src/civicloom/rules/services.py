"""Recording decisions inside the caller's transaction, and reading them back to explain."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.db import id_batches
from civicloom.kernel import new_id
from civicloom.rules.domain import Decision
from civicloom.rules.tables import RuleEvaluationRow


@dataclass(frozen=True)
class RecordedDecision:
    """A stored evaluation: enough to show an officer or citizen why."""

    id: str
    application_id: str
    purpose: str
    model: str
    version: int
    content_hash: str
    input: dict[str, Any]
    output: dict[str, Any]
    rules: list[dict[str, Any]]
    evaluated_at: datetime

    def explain(self) -> str:
        """One readable line naming the rules that fired."""
        fired = "; ".join(
            f"{r.get('node_name')}: {r.get('description') or r.get('rule_id') or 'evaluated'}"
            for r in self.rules
        )
        return f"{self.model} v{self.version}: {fired or 'no rule matched'}"


def _recorded(row: RuleEvaluationRow) -> RecordedDecision:
    return RecordedDecision(
        id=row.id,
        application_id=row.application_id,
        purpose=row.purpose,
        model=row.model,
        version=row.version,
        content_hash=row.content_hash,
        input=row.input,
        output=row.output,
        rules=list(row.trace.get("rules", [])),
        evaluated_at=row.evaluated_at,
    )


async def record_decision(
    session: AsyncSession, application_id: str, purpose: str, decision: Decision, at: datetime
) -> RecordedDecision:
    """Store a decision about an application in the caller's transaction (the caller commits
    and writes the audit entry)."""
    row = RuleEvaluationRow(
        id=new_id(),
        application_id=application_id,
        purpose=purpose,
        model=decision.model,
        department=decision.department,
        version=decision.version,
        content_hash=decision.content_hash,
        input=decision.input,
        output=decision.output,
        trace={"rules": [r.as_json() for r in decision.rules], "nodes": decision.trace},
        evaluated_at=at,
    )
    session.add(row)
    await session.flush()
    return _recorded(row)


async def list_decisions(session: AsyncSession, application_id: str) -> list[RecordedDecision]:
    """Every recorded decision about an application, oldest first."""
    rows = await session.scalars(
        select(RuleEvaluationRow)
        .where(RuleEvaluationRow.application_id == application_id)
        .order_by(RuleEvaluationRow.evaluated_at, RuleEvaluationRow.id)
    )
    return [_recorded(r) for r in rows]


async def recorded_evaluations(
    session: AsyncSession, model: str, limit: int = 10_000
) -> list[RecordedDecision]:
    """The latest recorded evaluation of a model per application and purpose (newest first)."""
    rows = await session.scalars(
        select(RuleEvaluationRow)
        .where(RuleEvaluationRow.model == model)
        .order_by(RuleEvaluationRow.evaluated_at.desc(), RuleEvaluationRow.id)
    )
    latest: dict[tuple[str, str], RecordedDecision] = {}
    for row in rows:
        latest.setdefault((row.application_id, row.purpose), _recorded(row))
        if len(latest) >= limit:
            break
    return list(latest.values())


async def decisions_per_department(
    session: AsyncSession, application_ids: Collection[str]
) -> Counter[str]:
    """How many decision-model evaluations each department ran for these applications (one
    grouped statement per thousand applications)."""
    counts: Counter[str] = Counter()
    for batch in id_batches(application_ids):
        rows = await session.execute(
            select(RuleEvaluationRow.department, func.count())
            .where(RuleEvaluationRow.application_id.in_(batch))
            .group_by(RuleEvaluationRow.department)
        )
        for department, n in rows:
            counts[str(department)] += int(n)
    return counts
