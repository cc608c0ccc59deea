"""Identifiers, reference numbers and content hashes."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from datetime import datetime
from typing import Any

# Crockford-style alphabet without look-alikes (no I, L, O, U): easy to read over the phone.
_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_id() -> str:
    """Return a new random identifier (UUID4, canonical text form)."""
    return str(uuid.uuid4())


def new_reference(prefix: str, at: datetime) -> str:
    """Return a human-friendly application reference such as ``RST-2026-7KQ4M9TX``."""
    body = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))
    return f"{prefix.upper()}-{at.year}-{body}"


def canonical_json(value: Any) -> str:
    """Serialise to a stable JSON text (sorted keys, no spaces) for hashing and comparison."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def sha256_hex(text: str | bytes) -> str:
    """Return the SHA-256 of a text (UTF-8) or bytes as lowercase hex."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()
