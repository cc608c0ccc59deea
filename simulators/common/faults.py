"""Configurable, seeded fault injection."""

from __future__ import annotations

import json
import random
import threading
from pathlib import Path
from typing import Any

COMMON_FAULTS: dict[str, Any] = {
    "latency_ms": 0,
    "error_rate": 0.0,
    "down": False,
    "malformed_rate": 0.0,
    "timeout_rate": 0.0,
    "timeout_ms": 30000,
    "answer_delay_ms": 0,
}


class FaultConfigError(ValueError):
    """Raised when a faults document has unknown keys or wrong types."""


class FaultInjector:
    """Holds the current fault configuration and draws from a seeded RNG."""

    def __init__(self, extra_defaults: dict[str, Any], seed: int, initial: dict[str, Any]) -> None:
        """Create an injector with department-specific knobs and an initial config."""
        self.defaults: dict[str, Any] = {**COMMON_FAULTS, **extra_defaults}
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._current: dict[str, Any] = dict(self.defaults)
        self.set(initial)

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        """Return ``data`` merged over defaults, or raise FaultConfigError."""
        merged = dict(self.defaults)
        for name, value in data.items():
            if name not in self.defaults:
                raise FaultConfigError(f"unknown fault knob: {name}")
            default = self.defaults[name]
            if isinstance(default, bool):
                if not isinstance(value, bool):
                    raise FaultConfigError(f"{name} must be a boolean")
            elif isinstance(value, bool) or not isinstance(value, int | float):
                raise FaultConfigError(f"{name} must be a number")
            elif name.endswith("_rate") and not 0.0 <= float(value) <= 1.0:
                raise FaultConfigError(f"{name} must be between 0 and 1")
            merged[name] = value
        return merged

    def set(self, data: dict[str, Any]) -> dict[str, Any]:
        """Replace the configuration (absent knobs fall back to defaults)."""
        merged = self.validate(data)
        with self._lock:
            self._current = merged
        return dict(merged)

    def get(self) -> dict[str, Any]:
        """Return a copy of the current configuration."""
        with self._lock:
            return dict(self._current)

    def reset(self) -> None:
        """Clear every fault."""
        with self._lock:
            self._current = dict(self.defaults)

    def value(self, name: str) -> Any:
        """Return the current value of one knob."""
        with self._lock:
            return self._current[name]

    def seconds(self, name: str) -> float:
        """Return a millisecond knob converted to seconds."""
        return float(self.value(name)) / 1000.0

    def roll(self, name: str) -> bool:
        """Draw once: True with the probability given by the ``name`` rate knob."""
        with self._lock:
            rate = float(self._current.get(name, 0.0))
            if rate <= 0.0:
                return False
            return self._rng.random() < rate

    def roll_half(self) -> bool:
        """Draw a fair coin from the seeded RNG."""
        with self._lock:
            return self._rng.random() < 0.5


def load_faults_file(path: str | None) -> dict[str, Any]:
    """Read a faults JSON file (empty config when no path)."""
    if not path:
        return {}
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise FaultConfigError("faults file must contain a JSON object")
    return data
