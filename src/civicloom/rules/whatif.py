"""What-if: replay a candidate model over the recorded inputs of past applications."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from civicloom.kernel import canonical_json
from civicloom.rules.domain import DecisionModel
from civicloom.rules.engine import CompiledModel, ModelError
from civicloom.rules.services import RecordedDecision


@dataclass(frozen=True)
class ChangedOutcome:
    """One past application whose outcome the candidate would change."""

    application_id: str
    purpose: str
    input: dict[str, Any]
    before: dict[str, Any]
    after: dict[str, Any] | None
    recorded_version: int
    error: str | None = None


@dataclass(frozen=True)
class WhatIfReport:
    """How many recorded outcomes a candidate would change, with examples."""

    model: str
    candidate_version: int
    replayed: int
    changed: int
    errors: int
    examples: tuple[ChangedOutcome, ...]
    transitions: dict[str, int] = field(default_factory=dict)  # "before → after": count

    @property
    def unchanged(self) -> int:
        """Outcomes the candidate keeps as they were."""
        return self.replayed - self.changed - self.errors


def replay(
    candidate: DecisionModel, records: Sequence[RecordedDecision], max_examples: int = 5
) -> WhatIfReport:
    """Evaluate the candidate on each recorded input and compare with the recorded output.

    Only the keys the candidate produces and the recorded output had are compared, so a
    candidate may add outputs without every application counting as changed.
    """
    compiled = CompiledModel(candidate)
    changed: list[ChangedOutcome] = []
    transitions: Counter[str] = Counter()
    errors = 0
    for record in records:
        try:
            after = compiled.output_only(record.input)
        except ModelError as exc:
            errors += 1
            changed.append(
                ChangedOutcome(
                    record.application_id,
                    record.purpose,
                    record.input,
                    record.output,
                    None,
                    record.version,
                    str(exc),
                )
            )
            continue
        shared = sorted(set(after) & set(record.output)) or sorted(set(after) | set(record.output))
        before_view = {k: record.output.get(k) for k in shared}
        after_view = {k: after.get(k) for k in shared}
        if canonical_json(before_view) != canonical_json(after_view):
            changed.append(
                ChangedOutcome(
                    record.application_id,
                    record.purpose,
                    record.input,
                    before_view,
                    after_view,
                    record.version,
                )
            )
            transitions[f"{canonical_json(before_view)} → {canonical_json(after_view)}"] += 1
    return WhatIfReport(
        model=candidate.ref.key,
        candidate_version=candidate.version,
        replayed=len(records),
        changed=len(changed) - errors,
        errors=errors,
        examples=tuple(changed[:max_examples]),
        transitions=dict(transitions.most_common()),
    )
