"""How fast the platform may send through each provider, shared by every worker (ADR 0062).

``notification_rate_per_minute`` is what a provider's contract allows the platform as a whole;
two worker processes, or two worker hosts, each keeping their own bucket would send twice that.
The count lives in the identity module's shared windows (one upsert per send, on PostgreSQL and
SQLite), under the bucket ``notify:<provider>``.
"""

from __future__ import annotations

from collections.abc import Callable

from civicloom.db import Database
from civicloom.identity import RateLimiter as SharedWindows


class ProviderLimiter:
    """At most ``per_minute[provider]`` sends per minute across all workers; 0 or absent means
    no limit."""

    def __init__(
        self, database: Database, per_minute: dict[str, int], now: Callable[[], float]
    ) -> None:
        limits = {f"notify:{name}": rate for name, rate in per_minute.items() if rate > 0}
        self._windows = SharedWindows(database, limits, now=now)

    async def take(self, provider: str) -> float:
        """Count one send; 0 when allowed, else the seconds to wait before trying again."""
        return float(await self._windows.take(f"notify:{provider}", provider))
