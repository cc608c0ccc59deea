"""What the operator sees of worker processes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

HEARTBEAT_STALE = timedelta(seconds=60)


@dataclass(frozen=True)
class Heartbeat:
    """A worker process as last seen; ``alive`` unless silent for ``HEARTBEAT_STALE``."""

    worker_id: str
    host: str
    pid: int
    started_at: datetime
    seen_at: datetime
    alive: bool


@dataclass(frozen=True)
class ConnectorReport:
    """What one worker knows of one department's system: its breaker (always) and its last
    health probe (None until the first probe ran)."""

    department: str
    breaker_state: str
    consecutive_failures: int
    retry_at: datetime | None = None
    kind: str | None = None
    healthy: bool | None = None
    detail: str | None = None
    latency_ms: float | None = None
    checked_at: datetime | None = None


@dataclass(frozen=True)
class ConnectorState:
    """One department's system as the live workers see it, for the operator screen.

    ``breaker`` is the worst state any live worker reports (open > half_open > closed):
    ``open_on`` of ``reporting`` workers refuse calls. Health is the most recent probe."""

    department: str
    breaker: str
    open_on: int
    reporting: int
    consecutive_failures: int
    retry_at: datetime | None
    kind: str | None
    healthy: bool | None
    detail: str | None
    latency_ms: float | None
    checked_at: datetime | None
