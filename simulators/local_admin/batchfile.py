"""Signed CSV files of the batch exchange (``#hmac-sha256=<hex>`` trailer line).

The trailer is HMAC-SHA256 over the preceding bytes with the batch secret the department
shares with the platform: the platform signs requests, the department signs its answers.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import os
from pathlib import Path

REQUEST_HEADER = [
    "idempotency_key",
    "operation",
    "registration_number",
    "parcel_id",
    "activity",
    "new_address",
]
RESPONSE_HEADER = ["idempotency_key", "status", "reference", "message"]


TRAILER = b"#hmac-sha256="


class ChecksumError(ValueError):
    """The file's signature trailer is missing or wrong."""


def render_csv(header: list[str], rows: list[dict[str, str]]) -> bytes:
    """Render a header and rows as UTF-8 CSV bytes (no trailer)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def sign(secret: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``body`` under the batch secret."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def with_trailer(body: bytes, secret: str) -> bytes:
    """Append the ``#hmac-sha256=`` line over all preceding bytes."""
    return body + TRAILER + sign(secret, body).encode() + b"\n"


def split_trailer(data: bytes, secret: str) -> bytes:
    """Verify the signature trailer and return the bytes it covers."""
    stripped = data[:-1] if data.endswith(b"\n") else data
    idx = stripped.rfind(b"\n")
    body, trailer = stripped[: idx + 1], stripped[idx + 1 :].strip()
    if not trailer.startswith(TRAILER):
        raise ChecksumError("missing #hmac-sha256= trailer line")
    given = trailer.removeprefix(TRAILER).decode("ascii", "replace").lower()
    if not hmac.compare_digest(sign(secret, body), given):
        raise ChecksumError("signature mismatch")
    return body


def parse_csv(data: bytes, header: list[str], secret: str) -> list[dict[str, str]]:
    """Verify and parse a signed CSV file with the given header."""
    body = split_trailer(data, secret).decode("utf-8")
    reader = csv.DictReader(io.StringIO(body))
    if reader.fieldnames != header:
        raise ValueError(f"unexpected header {reader.fieldnames}")
    rows = []
    for row in reader:
        if None in row or any(v is None for v in row.values()):
            raise ValueError(f"row {reader.line_num} has the wrong number of fields")
        rows.append({k: v for k, v in row.items() if k is not None})
    return rows


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``path`` via ``path.tmp`` then rename, so readers never see a partial file."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)
