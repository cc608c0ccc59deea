"""Genuine and hostile sample files, built in memory."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from reportlab.pdfgen import canvas


def pdf(text: str = "Floor plan", extra: bytes = b"") -> bytes:
    """A small genuine PDF."""
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, invariant=True)
    c.drawString(72, 720, text)
    c.showPage()
    c.save()
    data = buffer.getvalue()
    if extra:  # put the extra bytes in a comment before the trailer, as an attacker would
        cut = data.rindex(b"xref")
        data = data[:cut] + extra + b"\n" + data[cut:]
    return data


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int = 1, height: int = 1, text: bytes | None = None) -> bytes:
    """A genuine PNG (grey pixels); ``text`` adds a tEXt chunk."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(min(height, 4)))
    chunks = [_chunk(b"IHDR", header)]
    if text is not None:
        chunks.append(_chunk(b"tEXt", b"Comment\x00" + text))
    chunks += [_chunk(b"IDAT", zlib.compress(raw)), _chunk(b"IEND", b"")]
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


def jpeg() -> bytes:
    """A minimal JPEG-framed file (SOI, APP0/JFIF, EOI)."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return b"\xff\xd8" + app0 + b"\xff\xd9"


def zip_archive(entries: dict[str, bytes], level: int = 9) -> bytes:
    """A ZIP archive with the given entries, deflated."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def docx() -> bytes:
    """A Word-like OOXML container."""
    return zip_archive(
        {
            "[Content_Types].xml": b"<Types/>",
            "word/document.xml": b"<w:document>floor plan</w:document>",
        }
    )


def zip_bomb() -> bytes:
    """Highly compressible content: 20 MB of zeros in a few kilobytes."""
    return zip_archive(
        {"[Content_Types].xml": b"<Types/>", "word/big.xml": bytes(20 * 1024 * 1024)}
    )


ATTACKS: dict[str, tuple[bytes, str, str]] = {
    # name: (content, file name, rule that must refuse it)
    "zip bomb": (zip_bomb(), "plan.docx", "zip-bomb"),
    "nested archive": (zip_archive({"inner.zip": zip_archive({"a": b"a"})}), "a.zip", "zip-bomb"),
    "archive path traversal": (
        zip_archive({"../../etc/cron.d/x": b"x"}),
        "a.zip",
        "path-traversal",
    ),
    "truncated pdf": (pdf()[:-300], "plan.pdf", "truncated"),
    "truncated png": (png(8, 8)[:-20], "plan.png", "truncated"),
    "truncated jpeg": (jpeg()[:-2], "photo.jpg", "truncated"),
    "pdf+zip polyglot": (pdf() + zip_archive({"x.js": b"alert(1)"}), "plan.pdf", "polyglot"),
    "png with trailing data": (png() + b"<?php system($_GET['c']); ?>", "a.png", "polyglot"),
    "jpeg+zip polyglot": (jpeg() + zip_archive({"x.html": b"<b>x</b>"}), "a.jpg", "polyglot"),
    "png with html": (png(text=b"<script>alert(1)</script>"), "a.png", "polyglot"),
    "pdf with javascript": (pdf(extra=b"% /JavaScript (app.alert(1))"), "a.pdf", "active-content"),
    "image bomb": (png(100_000, 100_000), "huge.png", "image-bomb"),
    "html page": (b"<!doctype html><script>alert(1)</script>", "plan.pdf", "unsupported-type"),
    "empty file": (b"", "plan.pdf", "empty"),
    "path traversal name": (pdf(), "../../etc/passwd", "path-traversal"),
    "windows path name": (pdf(), "C:\\Users\\x\\..\\plan.pdf", "path-traversal"),
}
