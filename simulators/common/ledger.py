"""SQLite-backed idempotency ledger shared by every protocol of one simulator."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    key TEXT PRIMARY KEY,
    capability TEXT NOT NULL,
    applied INTEGER NOT NULL,
    received INTEGER NOT NULL,
    first_at TEXT NOT NULL,
    last_at TEXT NOT NULL,
    traceparent TEXT,
    response TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
"""


def utcnow() -> str:
    """Return the current UTC time as an ISO 8601 string."""
    return datetime.now(UTC).isoformat()


class Ledger:
    """Records every effectful request by idempotency key; replays stored responses."""

    def __init__(self, path: Path) -> None:
        """Open (or create) the ledger database at ``path``."""
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def execute(
        self,
        key: str,
        capability: str,
        apply: Callable[[], dict[str, Any]],
        traceparent: str | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Apply ``apply`` once per key; return (response, replayed)."""
        with self._lock:
            row = self._db.execute("SELECT response FROM entries WHERE key = ?", (key,)).fetchone()
            now = utcnow()
            if row is not None:
                self._db.execute(
                    "UPDATE entries SET received = received + 1, last_at = ? WHERE key = ?",
                    (now, key),
                )
                stored: dict[str, Any] = json.loads(row[0])
                return stored, True
            response = apply()
            self._db.execute(
                "INSERT INTO entries VALUES (?, ?, 1, 1, ?, ?, ?, ?)",
                (key, capability, now, now, traceparent, json.dumps(response)),
            )
            return response, False

    def entries(self) -> list[dict[str, Any]]:
        """Return all ledger entries, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT key, capability, applied, received, first_at, last_at, traceparent, "
                "response FROM entries ORDER BY first_at, key"
            ).fetchall()
        return [self._row(r) for r in rows]

    def entry(self, key: str) -> dict[str, Any] | None:
        """Return one ledger entry or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT key, capability, applied, received, first_at, last_at, traceparent, "
                "response FROM entries WHERE key = ?",
                (key,),
            ).fetchone()
        return None if row is None else self._row(row)

    @staticmethod
    def _row(row: tuple[Any, ...]) -> dict[str, Any]:
        return {
            "key": row[0],
            "capability": row[1],
            "applied": row[2],
            "received": row[3],
            "first_at": row[4],
            "last_at": row[5],
            "traceparent": row[6],
            "response": json.loads(row[7]),
        }

    def put_record(self, kind: str, record_id: str, data: dict[str, Any]) -> None:
        """Store simulator state (e.g. a changed address) so it survives restarts."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO records VALUES (?, ?, ?)",
                (kind, record_id, json.dumps(data)),
            )

    def get_record(self, kind: str, record_id: str) -> dict[str, Any] | None:
        """Return one stored state record or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT data FROM records WHERE kind = ? AND id = ?", (kind, record_id)
            ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def records(self, kind: str) -> dict[str, dict[str, Any]]:
        """Return every stored state record of one kind, by id."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, data FROM records WHERE kind = ?", (kind,)
            ).fetchall()
        return {r[0]: dict(json.loads(r[1])) for r in rows}

    def reset(self) -> None:
        """Forget every entry and state record."""
        with self._lock:
            self._db.execute("DELETE FROM entries")
            self._db.execute("DELETE FROM records")

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()
