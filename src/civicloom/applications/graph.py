"""Runtime use of a blueprint's step graph: evaluating conditions and retry policies.

The graph itself (typed steps, dependencies) is the catalogue's ``step_graph``; this module
only adds what the engine needs while a case runs. References (``$.data.…``) are resolved by
the catalogue's one parser, ``civicloom.catalogue.resolve``.
"""

from __future__ import annotations

import json
from typing import Any

import zen

from civicloom.catalogue import Step

DEFAULT_MAX_ATTEMPTS = 8


class ConditionFailed(ValueError):
    """A ``when``/``reject_when`` expression could not be evaluated over a case (e.g.
    ``number(x)`` on a string): the result that led to it cannot be recorded."""

    def __init__(self, expression: str, detail: str) -> None:
        super().__init__(f"{expression!r} could not be evaluated: {detail}")
        self.expression = expression
        self.detail = detail


def expression_error(exc: BaseException) -> str:
    """zen's error without its native stack trace: ``vmError: Function `number` failed``."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    try:
        parsed = json.loads(first)
    except ValueError:
        return first[:300]
    if isinstance(parsed, dict):
        return f"{parsed.get('type', 'error')}: {parsed.get('source', '')}"[:300]
    return first[:300]


def condition_holds(expression: str | None, context: dict[str, Any]) -> bool:
    """Evaluate a zen expression over the context; no expression means true.

    Raises ``ConditionFailed`` (naming the expression) when it cannot be evaluated.
    """
    if not expression:
        return True
    try:
        return bool(zen.evaluate_expression(expression, context))
    except RuntimeError as exc:
        raise ConditionFailed(expression, expression_error(exc)) from None


def retry_policy(step: Step) -> dict[str, float]:
    """The step's retry policy as stored on its task."""
    if step.retry is None:
        return {"max_attempts": DEFAULT_MAX_ATTEMPTS, "initial_seconds": 1.0, "max_seconds": 300.0}
    return {
        "max_attempts": step.retry.max_attempts,
        "initial_seconds": step.retry.initial_seconds,
        "max_seconds": step.retry.max_seconds,
    }
