"""Run every benchmark script in this folder and keep their output (``make bench``)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    """Run ``bench_*.py`` one after another; return non-zero if any crashed."""
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    failed = []
    scripts = sorted(HERE.glob("bench_*.py"))
    if not scripts:
        print("no benchmarks found")
        return 1
    for script in scripts:
        print(f"\n=== {script.name} ===", flush=True)
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, check=False
        )
        print(proc.stdout, end="")
        if proc.returncode != 0:
            print(proc.stderr[-4000:], file=sys.stderr)
            failed.append(script.name)
        (results / f"{script.stem}.txt").write_text(proc.stdout + proc.stderr, encoding="utf-8")
        print(f"({script.name}: {time.monotonic() - started:.1f} s)")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
