"""A circuit breaker per department: stop hammering a system that is down.

closed → (``threshold`` consecutive transient failures) → open → (after ``reset_seconds``)
half-open: one trial call; success closes, failure opens again. Business refusals and
contract violations are answers, not outages, so they do not count.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class BreakerState(StrEnum):
    """Where a breaker is."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True)
class BreakerSnapshot:
    """A breaker's state for the operator screen."""

    department: str
    state: BreakerState
    consecutive_failures: int
    retry_in_seconds: float | None


class CircuitBreaker:
    """Closed/open/half-open breaker with an injectable monotonic clock."""

    def __init__(
        self,
        department: str,
        threshold: int = 5,
        reset_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.department = department
        self.threshold = threshold
        self.reset_seconds = reset_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_running = False

    def allow(self) -> bool:
        """Whether a call may go out now (claims the single half-open trial)."""
        with self._lock:
            if self._state is BreakerState.OPEN:
                if self._clock() - self._opened_at < self.reset_seconds:
                    return False
                self._state = BreakerState.HALF_OPEN
                self._trial_running = False
            if self._state is BreakerState.HALF_OPEN:
                if self._trial_running:
                    return False
                self._trial_running = True
            return True

    def record_success(self) -> None:
        """The system answered: close."""
        with self._lock:
            self._state, self._failures, self._trial_running = BreakerState.CLOSED, 0, False

    def record_failure(self) -> None:
        """The system failed transiently: count, and open at the threshold or on a failed trial."""
        with self._lock:
            self._failures += 1
            self._trial_running = False
            if self._state is BreakerState.HALF_OPEN or self._failures >= self.threshold:
                self._state = BreakerState.OPEN
                self._opened_at = self._clock()

    def hold_open(self, seconds: float) -> None:
        """Another worker's breaker for this department opened on its own failures: refuse
        calls here too for ``seconds`` (then one half-open trial, as usual). A breaker already
        open or trying stays as it is; the failure count is not touched, so a held breaker is
        never mistaken for one that saw the failures (ADR 0062)."""
        with self._lock:
            if self._state is not BreakerState.CLOSED or seconds <= 0:
                return
            self._state = BreakerState.OPEN
            self._opened_at = self._clock() - max(0.0, self.reset_seconds - seconds)

    def release(self) -> None:
        """The call ended without telling anything about the system's health."""
        with self._lock:
            self._trial_running = False

    def snapshot(self) -> BreakerSnapshot:
        """The current state (an open breaker past its wait reports half-open)."""
        with self._lock:
            state, retry_in = self._state, None
            if state is BreakerState.OPEN:
                remaining = self.reset_seconds - (self._clock() - self._opened_at)
                if remaining <= 0:
                    state = BreakerState.HALF_OPEN
                else:
                    retry_in = round(remaining, 3)
            return BreakerSnapshot(self.department, state, self._failures, retry_in)
