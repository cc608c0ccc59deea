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
