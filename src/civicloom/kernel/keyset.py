"""Keyset pagination cursors (issue 23): a page is "the rows after (or before) this row's sort
key", read through an index, never an offset that walks every row before it.

A cursor is opaque to its reader: base64url of ``[direction, timestamp, id]``. A cursor that
does not decode is bad input naming the field (``ValidationFailed``, rule ``cursor``).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Literal, TypeVar

from civicloom.kernel.errors import FieldError, ValidationFailed

Direction = Literal["after", "before"]
T = TypeVar("T")


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: the rows ``after`` (the next page) or ``before`` (the previous
    page) the row whose sort key is ``(at, id)``, in the list's own order."""

    direction: Direction
    at: datetime
    id: str

    def encode(self) -> str:
        """The opaque text a link carries."""
        raw = json.dumps([self.direction, self.at.isoformat(), self.id], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str, field: str = "cursor") -> Cursor:
        """The cursor ``encode`` made; bad input naming ``field`` otherwise."""
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            direction, at, id_ = json.loads(raw)
            if direction not in ("after", "before") or not isinstance(id_, str):
                raise ValueError(direction)
            moment = datetime.fromisoformat(at)
            if moment.tzinfo is None:
                raise ValueError(at)
            return cls(direction, moment, id_)
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
            raise ValidationFailed(
                [FieldError(field, "cursor", f"'{field}' is not a cursor this list gave out")]
            ) from None


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a keyset-paged list and the cursors of its neighbours (None at an end)."""

    items: list[T]
    next: str | None
    previous: str | None
