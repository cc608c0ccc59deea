"""Rate limits for logins, submissions and public lookups, shared by every API process.

One counter per (bucket, key, minute) in the database, incremented by one atomic upsert
(``INSERT … ON CONFLICT DO UPDATE … RETURNING``, on PostgreSQL and SQLite alike): two API
replicas, or two hosts behind a load balancer, count into the same row, so the limit is the
limit whatever the number of processes (ADR 0062, superseding the per-process buckets of
ADR 0006).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from civicloom.db import Database
from civicloom.identity.tables import RateLimitWindowRow

WINDOW_SECONDS = 60
PURGE_EVERY_SECONDS = 60.0


def limit_key(bucket: str, key: str) -> str:
    """What is stored for a caller: a digest, never the address or subject itself."""
    return hashlib.sha256(f"{bucket}\x00{key}".encode()).hexdigest()


class RateLimiter:
    """At most ``limits[bucket]`` requests per key and minute (a fixed one-minute window),
    counted in the database so every process shares the count."""

    def __init__(
        self,
        database: Database,
        limits: dict[str, int],
        now: Callable[[], float] = time.time,
    ) -> None:
        self._database = database
        self._limits = limits
        self._now = now
        self._purged_at = -math.inf
        table: Any = RateLimitWindowRow.__table__
        self._table = table
        self._insert = postgresql_insert if database.is_postgresql else sqlite_insert

    @property
    def limits(self) -> dict[str, int]:
        """Requests allowed per key and minute, by bucket."""
        return dict(self._limits)

    async def take(self, bucket: str, key: str) -> int:
        """Count one request; 0 when allowed, else whole seconds until the window turns."""
        limit = self._limits.get(bucket)
        if limit is None:
            return 0
        now = self._now()
        window = int(now // WINDOW_SECONDS) * WINDOW_SECONDS
        table = self._table
        upsert = (
            self._insert(table)
            .values(bucket=bucket, key=limit_key(bucket, key), window_start=window, hits=1)
            .on_conflict_do_update(
                index_elements=[table.c.bucket, table.c.key, table.c.window_start],
                set_={"hits": table.c.hits + 1},
            )
            .returning(table.c.hits)
        )
        async with self._database.engine.begin() as conn:
            if now - self._purged_at >= PURGE_EVERY_SECONDS:
                # Finished windows are worth nothing: one process now and then drops them.
                self._purged_at = now
                await conn.execute(delete(table).where(table.c.window_start < window))
            hits = (await conn.execute(upsert)).scalar_one()
        if hits <= limit:
            return 0
        return max(1, math.ceil(window + WINDOW_SECONDS - now))
