"""Token-bucket rate limits for logins and submissions, per process."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Buckets of ``per_minute`` tokens (burst = one minute's worth), keyed by any string.

    In-memory: each API replica limits on its own, so the effective limit is at most
    replicas x rate (ADR 0006 explains why that is acceptable for now).
    """

    def __init__(
        self,
        limits: dict[str, int],
        now: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self._limits = limits
        self._now = now
        self._max_keys = max_keys
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, bucket: str, key: str) -> int:
        """Spend one token; 0 when allowed, else seconds until the next token."""
        rate = self._limits.get(bucket)
        if rate is None:
            return 0
        now = self._now()
        with self._lock:
            if len(self._buckets) >= self._max_keys:
                self._buckets.clear()  # bounded memory under a flood of distinct keys
            state = self._buckets.setdefault((bucket, key), _Bucket(float(rate), now))
            state.tokens = min(float(rate), state.tokens + (now - state.updated) * rate / 60.0)
            state.updated = now
            if state.tokens >= 1.0:
                state.tokens -= 1.0
                return 0
            return max(1, math.ceil((1.0 - state.tokens) * 60.0 / rate))
