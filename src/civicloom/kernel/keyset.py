"""Keyset pagination cursors (issue 23): a page is "the rows after (or before) this row's sort
key", read through an index, never an offset that walks every row before it.

A cursor is opaque to its reader: base64url of ``[direction, timestamp, id]``. A cursor that
does not decode is bad input naming the field (``ValidationFailed``, rule ``cursor``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
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


class InvalidCursor(ValidationFailed):
    """A signed cursor that this list did not give out, for this list (forged, altered, or
    another department's or another filter's): 400 naming the field."""

    slug = "invalid-cursor"
    title = "Not a page of this list"
    status = 400


@dataclass(frozen=True)
class Position:
    """Where a page of a list ordered by a nullable key starts: the rows ``after`` or
    ``before`` the row whose key is ``(at, id)``; ``at`` is None for a row without one (those
    sort last)."""

    direction: Direction
    at: datetime | None
    id: str


class SignedCursors:
    """Cursors bound to one list by an HMAC (issue 23, ADR 0065): the token carries the
    position and a signature over it and over the list's ``scope`` (department and filters), so
    a cursor altered by hand, or made for another department's queue or other filters, is
    refused instead of positioning anything."""

    def __init__(self, key: bytes, purpose: str) -> None:
        self._key = hmac.new(key, purpose.encode(), hashlib.sha256).digest()

    def _sign(self, payload: str, scope: str) -> str:
        mac = hmac.new(self._key, f"{scope}\n{payload}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac[:16]).decode().rstrip("=")

    def encode(self, position: Position, scope: str) -> str:
        """The opaque text a link carries."""
        at = position.at.isoformat() if position.at is not None else None
        raw = json.dumps([position.direction, at, position.id], separators=(",", ":"))
        payload = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
        return f"{payload}.{self._sign(payload, scope)}"

    def decode(self, value: str, scope: str, field: str = "cursor") -> Position:
        """The position ``encode`` made for this scope; ``InvalidCursor`` naming ``field``."""
        payload, _, signature = value.partition(".")
        try:
            if not hmac.compare_digest(signature.encode(), self._sign(payload, scope).encode()):
                raise ValueError("signature")
            raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
            direction, at, id_ = json.loads(raw)
            if direction not in ("after", "before") or not isinstance(id_, str):
                raise ValueError(direction)
            moment = None if at is None else datetime.fromisoformat(at)
            if moment is not None and moment.tzinfo is None:
                raise ValueError(at)
            return Position(direction, moment, id_)
        except (ValueError, TypeError, binascii.Error, UnicodeError):
            raise InvalidCursor(
                [FieldError(field, "cursor", f"'{field}' is not a page link this list gave out")]
            ) from None
