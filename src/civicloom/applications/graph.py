"""The step graph of a blueprint as the engine reads it, and the expressions it evaluates.

Blueprint files declare ``steps`` (see docs/reference/blueprint-format.md); this module turns
them into typed specs and resolves step inputs and conditions against a case's context.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import zen

from civicloom.catalogue import Blueprint

STEP_KINDS = frozenset(
    {
        "automated",
        "officer_review",
        "applicant_action",
        "payment",
        "issue_document",
        "notify",
        "timer",
    }
)
_REF = re.compile(r"^\$\.([A-Za-z0-9_.-]+)$")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a step is retried."""

    max_attempts: int = 8
    initial_seconds: float = 1.0
    max_seconds: float = 300.0


@dataclass(frozen=True)
class StepSpec:
    """One node of the graph."""

    id: str
    kind: str
    department: str | None = None
    capability: str | None = None
    role: str | None = None
    input: dict[str, Any] = field(default_factory=dict)
    after: tuple[str, ...] = ()
    when: str | None = None
    reject_when: str | None = None
    sla_working_days: int | None = None
    sla_seconds: float | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    title: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StepGraph:
    """All steps of a blueprint with their dependencies."""

    steps: dict[str, StepSpec]

    def roots(self) -> list[StepSpec]:
        """Steps with no predecessors: they start on submission."""
        return [s for s in self.steps.values() if not s.after]

    def successors(self, step_id: str) -> list[StepSpec]:
        """Steps that wait for ``step_id``."""
        return [s for s in self.steps.values() if step_id in s.after]


def _spec(raw: dict[str, Any]) -> StepSpec:
    sla = raw.get("sla") or {}
    retry = raw.get("retry") or {}
    after = raw.get("after") or []
    return StepSpec(
        id=str(raw["id"]),
        kind=str(raw["kind"]),
        department=raw.get("department"),
        capability=raw.get("capability"),
        role=raw.get("role"),
        input=dict(raw.get("input") or {}),
        after=tuple(after if isinstance(after, list) else [after]),
        when=raw.get("when"),
        reject_when=raw.get("reject_when"),
        sla_working_days=sla.get("working_days"),
        sla_seconds=sla.get("seconds"),
        retry=RetryPolicy(
            max_attempts=int(retry.get("max_attempts", 8)),
            initial_seconds=float(retry.get("initial_seconds", 1.0)),
            max_seconds=float(retry.get("max_seconds", 300.0)),
        ),
        title=dict(raw.get("title") or {}),
        raw=raw,
    )


def step_graph(blueprint: Blueprint) -> StepGraph:
    """The blueprint's steps (an empty graph when it declares none)."""
    raw_steps = (blueprint.model_extra or {}).get("steps") or []
    return StepGraph({s.id: s for s in (_spec(r) for r in raw_steps)})


def resolve(value: Any, context: dict[str, Any]) -> Any:
    """Replace ``$.a.b`` references (recursively) with values from the context."""
    if isinstance(value, str):
        match = _REF.match(value)
        if not match:
            return value
        current: Any = context
        for part in match.group(1).split("."):
            if not isinstance(current, dict) or part not in current:
                return None
            current = current[part]
        return current
    if isinstance(value, dict):
        return {k: resolve(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, context) for v in value]
    return value


def condition_holds(expression: str | None, context: dict[str, Any]) -> bool:
    """Evaluate a zen expression over the context; no expression means true."""
    if not expression:
        return True
    return bool(zen.evaluate_expression(expression, context))
