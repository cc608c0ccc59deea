"""Database engine, metadata and the unit of work."""

from civicloom.db.batches import id_batches
from civicloom.db.engine import Database, is_postgresql, libpq_dsn
from civicloom.db.metadata import Base, metadata
from civicloom.db.pending import add_pending, pending_count, write_pending
from civicloom.db.types import JSONValue, UTCDateTime
from civicloom.db.uow import LENT, UnitOfWork, notify_on_commit

__all__ = [
    "LENT",
    "Base",
    "Database",
    "JSONValue",
    "UTCDateTime",
    "UnitOfWork",
    "add_pending",
    "id_batches",
    "is_postgresql",
    "libpq_dsn",
    "metadata",
    "notify_on_commit",
    "pending_count",
    "write_pending",
]
