"""Content sniffing: what a file really is, judged from its bytes, and whether it is safe to keep.

Every refusal is a ``ValidationFailed`` on the field ``file`` naming the rule that was broken:
``empty``, ``unsupported-type``, ``type-not-allowed``, ``truncated``, ``polyglot``,
``active-content``, ``zip-bomb``, ``image-bomb``.
"""

from __future__ import annotations

import itertools
import re
import struct
import zipfile
import zlib
from typing import BinaryIO

from civicloom.documents.domain import DOCX, JPEG, PDF, PNG, ZIP
from civicloom.kernel import FieldError, ValidationFailed

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_HTML = re.compile(rb"<\s*(script|html|!doctype\s+html|svg|iframe|body)\b", re.IGNORECASE)
_PDF_ACTIVE = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFile|RichMedia|XFA|SubmitForm)\b")
_EOCD = b"PK\x05\x06"
MAX_ZIP_ENTRIES = 1000
MAX_ZIP_UNCOMPRESSED = 200 * 1024 * 1024
MAX_ZIP_RATIO = 100
MAX_IMAGE_PIXELS = 50_000_000
_CHUNK = 1024 * 1024


def refuse(rule: str, message: str) -> ValidationFailed:
    """The error for a refused file."""
    return ValidationFailed([FieldError("file", rule, message)], f"the file was refused: {message}")


def _size(fh: BinaryIO) -> int:
    fh.seek(0, 2)
    return fh.tell()


def _read_at(fh: BinaryIO, offset: int, length: int) -> bytes:
    fh.seek(offset)
    return fh.read(length)


def _scan(fh: BinaryIO, pattern: re.Pattern[bytes]) -> bool:
    """Search the whole file in overlapping chunks."""
    fh.seek(0)
    tail = b""
    while chunk := fh.read(_CHUNK):
        if pattern.search(tail + chunk):
            return True
        tail = chunk[-64:]
    return False


def sniff(head: bytes) -> str | None:
    """The media type the first bytes announce, or None."""
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(_PNG_SIGNATURE):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"PK\x03\x04"):
        return ZIP
    return None


def _has_trailing_zip(fh: BinaryIO, size: int) -> bool:
    """A ZIP end-of-central-directory record that ends exactly at the end of the file."""
    window = min(size, 65_557)
    tail = _read_at(fh, size - window, window)
    index = tail.rfind(_EOCD)
    while index != -1:
        if len(tail) - index >= 22:
            (comment_length,) = struct.unpack("<H", tail[index + 20 : index + 22])
            if index + 22 + comment_length == len(tail):
                return True
        index = tail.rfind(_EOCD, 0, index)
    return False


def _check_pdf(fh: BinaryIO, size: int) -> None:
    if b"%%EOF" not in _read_at(fh, max(0, size - 1024), 1024):
        raise refuse("truncated", "the PDF is incomplete (no end-of-file marker)")
    if _scan(fh, _PDF_ACTIVE):
        raise refuse("active-content", "the PDF contains scripts, launch actions or embedded files")


def _check_png(fh: BinaryIO, size: int) -> None:
    offset = len(_PNG_SIGNATURE)
    first = True
    while True:
        header = _read_at(fh, offset, 8)
        if len(header) < 8:
            raise refuse("truncated", "the PNG image is incomplete")
        length, kind = struct.unpack(">I4s", header)
        if offset + 12 + length > size:
            raise refuse("truncated", "the PNG image is incomplete")
        if first:
            if kind != b"IHDR" or length != 13:
                raise refuse("truncated", "the PNG image has no header chunk")
            width, height = struct.unpack(">II", _read_at(fh, offset + 8, 8))
            if width * height > MAX_IMAGE_PIXELS:
                raise refuse("image-bomb", f"the image is too large ({width}×{height} pixels)")
            first = False
        data = _read_at(fh, offset + 4, 4 + length)
        (crc,) = struct.unpack(">I", _read_at(fh, offset + 8 + length, 4))
        if zlib.crc32(data) & 0xFFFFFFFF != crc:
            raise refuse("truncated", "the PNG image is damaged (checksum mismatch)")
        offset += 12 + length
        if kind == b"IEND":
            break
    if offset != size:
        raise refuse("polyglot", "the PNG image has data hidden after its end")


def _check_jpeg(fh: BinaryIO, size: int) -> None:
    tail = _read_at(fh, max(0, size - 2), 2)
    if tail != b"\xff\xd9":
        if _has_trailing_zip(fh, size) or _scan(fh, re.compile(rb"%PDF-|PK\x03\x04")):
            raise refuse("polyglot", "the JPEG image has another file hidden after its end")
        raise refuse("truncated", "the JPEG image is incomplete (no end-of-image marker)")
    header = _read_at(fh, 2, 2)
    if not header or header[0] != 0xFF:
        raise refuse("truncated", "the JPEG image is damaged")


def _check_zip(fh: BinaryIO, size: int) -> str:
    """Refuse bombs and traversal in ZIP containers; return DOCX or ZIP."""
    fh.seek(0)
    try:
        with zipfile.ZipFile(fh) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise refuse("truncated", "the archive is damaged or incomplete") from exc
    if len(entries) > MAX_ZIP_ENTRIES:
        raise refuse("zip-bomb", f"the archive has too many entries ({len(entries)})")
    total = 0
    spans: list[tuple[int, int]] = []
    for entry in entries:
        name = entry.filename
        if name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/"):
            raise refuse("path-traversal", "the archive contains a path that leaves its folder")
        total += entry.file_size
        if entry.compress_size and entry.file_size / entry.compress_size > MAX_ZIP_RATIO:
            raise refuse("zip-bomb", "the archive expands far beyond its size (zip bomb)")
        if name.lower().endswith((".zip", ".jar", ".7z", ".rar", ".gz")):
            raise refuse("zip-bomb", "the archive contains another archive")
        spans.append(
            (entry.header_offset, entry.header_offset + 30 + len(name) + entry.compress_size)
        )
    if total > MAX_ZIP_UNCOMPRESSED:
        raise refuse("zip-bomb", "the archive expands beyond the allowed size (zip bomb)")
    spans.sort()
    for (_, end), (start, _) in itertools.pairwise(spans):
        if start < end:
            raise refuse("zip-bomb", "the archive's entries overlap (zip bomb)")
    names = {e.filename for e in entries}
    return (
        DOCX
        if "[Content_Types].xml" in names and any(n.startswith("word/") for n in names)
        else ZIP
    )


def inspect_file(fh: BinaryIO, allowed: frozenset[str]) -> str:
    """Return the file's real media type, or raise ValidationFailed naming why it is refused."""
    size = _size(fh)
    if size == 0:
        raise refuse("empty", "the file is empty")
    head = _read_at(fh, 0, 1024)
    media_type = sniff(head)
    if media_type is None:
        raise refuse("unsupported-type", "the content is not a PDF, PNG, JPEG or Word document")
    if _HTML.search(head):
        raise refuse("polyglot", "the file also contains HTML that a browser could run")
    if media_type != PDF and b"%PDF-" in head:
        raise refuse("polyglot", "the file is also a PDF")
    if media_type == ZIP:
        media_type = _check_zip(fh, size)
    elif _has_trailing_zip(fh, size):
        raise refuse("polyglot", "the file has a ZIP archive hidden inside it")
    elif media_type == PDF:
        _check_pdf(fh, size)
    elif media_type == PNG:
        _check_png(fh, size)
    else:
        _check_jpeg(fh, size)
    if media_type not in allowed:
        kinds = ", ".join(sorted(allowed))
        raise refuse("type-not-allowed", f"{media_type} is not accepted here (accepted: {kinds})")
    return media_type
