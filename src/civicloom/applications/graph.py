"""Runtime use of a blueprint's step graph: resolving step inputs and evaluating conditions.

The graph itself (typed steps, dependencies) is the catalogue's ``step_graph``; this module
only adds what the engine needs while a case runs.
"""

from __future__ import annotations

import re
from typing import Any

import zen

from civicloom.catalogue import Step

_REF = re.compile(r"^\$\.([A-Za-z0-9_.-]+)$")
DEFAULT_MAX_ATTEMPTS = 8


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


def retry_policy(step: Step) -> dict[str, float]:
    """The step's retry policy as stored on its task."""
    if step.retry is None:
        return {"max_attempts": DEFAULT_MAX_ATTEMPTS, "initial_seconds": 1.0, "max_seconds": 300.0}
    return {
        "max_attempts": step.retry.max_attempts,
        "initial_seconds": step.retry.initial_seconds,
        "max_seconds": step.retry.max_seconds,
    }
