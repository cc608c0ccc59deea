"""Tables of promotion between environments: every bundle this deployment exported or imported."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from civicloom.db import Base, JSONValue, UTCDateTime


class BundleRow(Base):
    """One signed bundle: exported from here (``direction`` "export", ``environment`` this one)
    or imported (``environment`` its source). The unique (direction, environment, sequence)
    keeps each source's order gapless and imported once, even under concurrent imports."""

    __tablename__ = "governance_bundles"
    __table_args__ = (UniqueConstraint("direction", "environment", "sequence"),)

    bundle_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    direction: Mapped[str] = mapped_column(String(10))
    environment: Mapped[str] = mapped_column(String(50))
    sequence: Mapped[int] = mapped_column(Integer)
    payload_hash: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(200))
    # the source's change ids, and on import the change requests they became here
    change_ids: Mapped[list[str]] = mapped_column(JSONValue)
    local_change_ids: Mapped[list[str]] = mapped_column(JSONValue)
    # the signed text, byte for byte: what was imported, or what to hand over again
    signed: Mapped[str] = mapped_column(Text)
