"""Department table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from civicloom.db import Base, JSONValue, UTCDateTime


class DepartmentRow(Base):
    """A department as registered on the platform."""

    __tablename__ = "departments"

    id: Mapped[str] = mapped_column(String(50), primary_key=True)
    name_en: Mapped[str] = mapped_column(String(200))
    name_zh_hans: Mapped[str] = mapped_column(String(200))
    system: Mapped[str] = mapped_column(String(50))
    definition: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
