"""Signed CSV batch files: UTF-8, ``\\n`` line ends, last line ``#hmac-sha256=<hex>``.

The trailer is HMAC-SHA256 over every preceding byte, keyed with the department's batch secret
(ADR 0032): whoever can write to the exchange directory but does not hold the secret cannot
forge an answer. An unkeyed ``#sha256=`` trailer, as older files carried, is refused.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import os
from pathlib import Path

TRAILER = b"#hmac-sha256="


class BadFile(ValueError):
    """The whole file cannot be trusted (signature, header)."""


class IncompleteFile(BadFile):
    """No trailer yet: possibly still being written by a non-atomic writer."""


def signature(secret: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of a file's body under the department's batch secret."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def render(header: list[str], rows: list[dict[str, str]], secret: str) -> bytes:
    """CSV bytes with the signature trailer."""
    if not secret:
        raise ValueError("a batch file is signed with the department's batch secret")
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    body = buf.getvalue().encode("utf-8")
    return body + TRAILER + signature(secret, body).encode() + b"\n"


def parse(data: bytes, header: list[str], secret: str) -> tuple[list[dict[str, str]], list[int]]:
    """Rows of a correctly signed file and the line numbers of malformed rows.

    Nothing of the file is read before its signature is checked.
    """
    if not secret:
        raise BadFile("no batch secret: answers cannot be verified")
    stripped = data[:-1] if data.endswith(b"\n") else data
    idx = stripped.rfind(b"\n")
    body, trailer = stripped[: idx + 1], stripped[idx + 1 :].strip()
    if trailer.startswith(b"#sha256="):
        raise BadFile("unsigned: an unkeyed #sha256= trailer is not accepted")
    if not trailer.startswith(TRAILER):
        raise IncompleteFile("no #hmac-sha256= trailer")
    given = trailer.removeprefix(TRAILER).decode("ascii", "replace").lower()
    if not hmac.compare_digest(signature(secret, body), given):
        raise BadFile("signature mismatch: not signed with the department's batch secret")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadFile("not UTF-8") from exc
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames != header:
        raise BadFile(f"unexpected header {reader.fieldnames}")
    rows: list[dict[str, str]] = []
    bad: list[int] = []
    for row in reader:
        if None in row or any(v is None for v in row.values()):
            bad.append(reader.line_num)
            continue
        rows.append({k: v for k, v in row.items() if k is not None})
    return rows, bad


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``<path>.tmp``, fsync, rename: readers never see half a file."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)
