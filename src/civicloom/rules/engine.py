"""Evaluating JDM documents with zen-engine, and running a model's own test cases."""

from __future__ import annotations

import json
from typing import Any

import zen

from civicloom.rules.domain import (
    CaseResult,
    Decision,
    DecisionModel,
    RuleFired,
    TestReport,
)


class ModelError(Exception):
    """A decision model could not be compiled or evaluated."""


def zen_message(exc: BaseException) -> str:
    """zen errors carry a Rust backtrace; keep only the readable head."""
    text = str(exc).split("Stack backtrace:", 1)[0]
    return " ".join(line.strip() for line in text.strip().splitlines() if line.strip())


def _rules_fired(model: DecisionModel, trace: dict[str, Any]) -> tuple[RuleFired, ...]:
    fired: list[tuple[int, RuleFired]] = []
    for node_id, node in trace.items():
        data = node.get("traceData")
        name = str(node.get("name") or node_id)
        order = int(node.get("order") or 0)
        rows: list[Any] = data if isinstance(data, list) else [data]
        for row in rows:
            if isinstance(row, dict) and isinstance(row.get("rule"), dict):
                rule_id = row["rule"].get("_id")
                rid = str(rule_id) if rule_id is not None else None
                desc = model.describe_rule(node_id, rid) if rid else None
                fired.append((order, RuleFired(node_id, name, rid, desc)))
    return tuple(r for _, r in sorted(fired, key=lambda item: item[0]))


def _compact_trace(trace: dict[str, Any]) -> dict[str, Any]:
    """Per node: its input and output (performance timings dropped; they never explain)."""
    return {
        node_id: {
            "name": node.get("name"),
            "input": node.get("input"),
            "output": node.get("output"),
        }
        for node_id, node in trace.items()
    }


class CompiledModel:
    """A model version compiled once by zen-engine; evaluation is thread-safe and fast."""

    def __init__(self, model: DecisionModel, engine: zen.ZenEngine | None = None) -> None:
        self.model = model
        self.content_hash = model.content_hash()
        try:
            self._decision = (engine or zen.ZenEngine()).create_decision(json.dumps(model.content))
        except Exception as exc:  # zen raises bare RuntimeError/ValueError
            raise ModelError(f"{model.ref}: {zen_message(exc)}") from exc

    def evaluate(self, data: dict[str, Any], *, trace: bool = True) -> Decision:
        """Evaluate on ``data``; with ``trace`` the decision names the rules that fired."""
        try:
            response = self._decision.evaluate(data, {"trace": trace})
        except Exception as exc:
            raise ModelError(f"{self.model.ref}: {zen_message(exc)}") from exc
        raw_trace = response.get("trace") or {}
        return Decision(
            model=self.model.ref.key,
            version=self.model.version,
            content_hash=self.content_hash,
            input=data,
            output=dict(response.get("result") or {}),
            rules=_rules_fired(self.model, raw_trace) if trace else (),
            trace=_compact_trace(raw_trace) if trace else {},
        )

    def output_only(self, data: dict[str, Any]) -> dict[str, Any]:
        """Just the output, without tracing (the fast path for what-if and benchmarks)."""
        try:
            return dict(self._decision.evaluate(data).get("result") or {})
        except Exception as exc:
            raise ModelError(f"{self.model.ref}: {zen_message(exc)}") from exc


def _mismatches(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Where ``actual`` differs from ``expected``; objects match on the expected keys only."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path or '$'}: expected an object, got {json.dumps(actual)}"]
        problems: list[str] = []
        for key, value in expected.items():
            sub = f"{path}.{key}" if path else key
            if key not in actual:
                problems.append(f"{sub}: missing (expected {json.dumps(value)})")
            else:
                problems.extend(_mismatches(value, actual[key], sub))
        return problems
    # 400 == 400.0 is the same fee; True is not 1.
    same = expected == actual and isinstance(expected, bool) == isinstance(actual, bool)
    return (
        []
        if same
        else [f"{path or '$'}: expected {json.dumps(expected)}, got {json.dumps(actual)}"]
    )


def run_tests(model: DecisionModel) -> TestReport:
    """Run every test case beside a model version; a model with no cases does not pass."""
    try:
        compiled = CompiledModel(model)
    except ModelError as exc:
        return TestReport(model.ref.key, model.version, (), (str(exc),))
    results: list[CaseResult] = []
    for case in model.tests:
        try:
            actual = compiled.output_only(case.input)
        except ModelError as exc:
            results.append(CaseResult(case.name, False, case.expect, None, (), str(exc)))
            continue
        wrong = tuple(_mismatches(case.expect, actual))
        results.append(CaseResult(case.name, not wrong, case.expect, actual, wrong))
    problems = () if model.tests else ("no test cases: a model needs tests to be published",)
    return TestReport(model.ref.key, model.version, tuple(results), problems)
