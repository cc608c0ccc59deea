"""Runtime use of a blueprint's step graph: evaluating conditions and retry policies.

The graph itself (typed steps, dependencies) is the catalogue's ``step_graph``; this module
only adds what the engine needs while a case runs. References (``$.data.…``) are resolved by
the catalogue's one parser, ``civicloom.catalogue.resolve``.
"""

from __future__ import annotations

from typing import Any

import zen

from civicloom.catalogue import Step

DEFAULT_MAX_ATTEMPTS = 8


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
