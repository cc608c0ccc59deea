"""Checksummed CSV batch files: UTF-8, ``\\n`` line ends, last line ``#sha256=<hex>``."""

from __future__ import annotations

import csv
import hashlib
import io
import os
from pathlib import Path


class BadFile(ValueError):
    """The whole file cannot be trusted (checksum, header)."""


class IncompleteFile(BadFile):
    """No checksum trailer yet: possibly still being written by a non-atomic writer."""


def render(header: list[str], rows: list[dict[str, str]]) -> bytes:
    """CSV bytes with the checksum trailer."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    body = buf.getvalue().encode("utf-8")
    return body + f"#sha256={hashlib.sha256(body).hexdigest()}\n".encode()


def parse(data: bytes, header: list[str]) -> tuple[list[dict[str, str]], list[int]]:
    """Verified rows and the line numbers of malformed rows (wrong field count)."""
    stripped = data[:-1] if data.endswith(b"\n") else data
    idx = stripped.rfind(b"\n")
    body, trailer = stripped[: idx + 1], stripped[idx + 1 :].strip()
    if not trailer.startswith(b"#sha256="):
        raise IncompleteFile("no #sha256= trailer")
    expected = trailer.removeprefix(b"#sha256=").decode("ascii", "replace").lower()
    if hashlib.sha256(body).hexdigest() != expected:
        raise BadFile("sha256 checksum mismatch")
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
