"""Decision-model evaluation speed: the licence fee model on zen-engine, against a pure-Python
loop doing the same table lookup on the same machine (the reference).

Prints evaluations/s without trace (what-if replays), with trace (what the case engine records),
the pure-Python reference rate and the ratios. Goal: thousands of traced evaluations per second.

Environment: BENCH_RULES_N (default 20000 evaluations per measurement).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from civicloom.rules import RuleBook  # noqa: E402 - after the path set-up above

N = int(os.environ.get("BENCH_RULES_N", "20000"))
BANDS = [(20, 150, "micro"), (40, 400, "small"), (100, 650, "medium"), (10**9, 900, "large")]


def python_fee(seating: int) -> dict[str, Any]:
    """The same fee table written by hand: the machine's reference."""
    for limit, fee, band in BANDS:
        if seating <= limit:
            return {"fee": fee, "band": band, "currency": "EUR"}
    raise AssertionError("unreachable")


def rate(label: str, call: Callable[[int], object]) -> float:
    """Evaluations per second over N calls (after a short warm-up)."""
    for i in range(200):
        call(i % 300)
    started = time.perf_counter()
    for i in range(N):
        call(i % 300)
    per_second = N / (time.perf_counter() - started)
    print(f"{label:<42} {per_second:>12,.0f} /s")
    return per_second


def main() -> None:
    """Measure and print."""
    book = RuleBook.from_directory(ROOT / "blueprints" / "rules")
    model = book.resolve("local-admin/licence-fee")
    compiled = book.compiled(model)
    for seats in (12, 40, 90, 400):  # same answers as the reference before timing anything
        assert compiled.output_only({"seating": seats}) == python_fee(seats), seats
    print(f"local-admin/licence-fee v{model.version}, {N} evaluations per measurement")
    untraced = rate(
        "zen-engine, no trace (what-if)", lambda s: compiled.output_only({"seating": s})
    )
    traced = rate(
        "zen-engine, traced Decision (engine)", lambda s: compiled.evaluate({"seating": s})
    )
    reference = rate("reference: pure-Python table lookup", python_fee)
    print(f"ratio no-trace / reference: {untraced / reference:.4f}")
    print(f"ratio traced / reference:   {traced / reference:.4f}")
    print(f"mean traced evaluation:     {1e6 / traced:.0f} µs")
    print("goal: ≥ 1,000 traced evaluations/s —", "met" if traced >= 1000 else "NOT met")


if __name__ == "__main__":
    main()
