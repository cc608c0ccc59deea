"""Streaming ``multipart/form-data``: small fields first, then one file streamed chunk by chunk.

FastAPI's ``UploadFile`` spools the whole body before the handler runs, so a size limit could
only be checked afterwards; here the limit is enforced while the bytes arrive.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from urllib.parse import unquote

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from civicloom.kernel import FieldError, ValidationFailed

MAX_FIELD_BYTES = 1024
MAX_FIELDS = 10
_CHARSETS = frozenset({"utf-8", "iso-8859-1"})  # the two RFC 8187 names every sender uses
_PARAM = re.compile(r'(?i)(?:^|;)\s*(filename\*?|name)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


def _malformed(message: str) -> ValidationFailed:
    return ValidationFailed(
        [FieldError("body", "multipart", message)], "the form data is malformed"
    )


def _disposition(raw: str) -> dict[str, str]:
    """Parameters of a Content-Disposition header, without rewriting the file name."""
    params: dict[str, str] = {}
    for key, value in _PARAM.findall(raw):
        value = value.strip()
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        if key.lower() == "filename*":
            charset, _, encoded = value.partition("''")
            charset = charset.strip().lower() or "utf-8"
            try:
                if charset not in _CHARSETS:
                    raise LookupError(charset)
                params["filename"] = unquote(encoded, encoding=charset, errors="strict")
            except (UnicodeDecodeError, LookupError) as exc:
                raise ValidationFailed(
                    [
                        FieldError(
                            "file",
                            "file-name-encoding",
                            "the file name (filename*) is not valid percent-encoded UTF-8",
                        )
                    ]
                ) from exc
        elif key.lower() not in params:
            params[key.lower()] = value
    return params


class StreamingForm:
    """Reads a multipart body from an ASGI byte stream, one part at a time."""

    def __init__(self, content_type: str, body: AsyncIterator[bytes]) -> None:
        kind, options = parse_options_header(content_type)
        boundary = options.get(b"boundary")
        if kind != b"multipart/form-data" or not boundary:
            raise ValidationFailed(
                [FieldError("body", "content-type", "send multipart/form-data with a boundary")]
            )
        self._body = body
        self._events: list[tuple[str, bytes]] = []
        self._header_field = b""
        self._header_value = b""
        callbacks = {
            "on_part_begin": lambda: self._events.append(("begin", b"")),
            "on_header_field": lambda d, s, e: self._add_header("field", d[s:e]),
            "on_header_value": lambda d, s, e: self._add_header("value", d[s:e]),
            "on_header_end": lambda: self._events.append(("header_end", b"")),
            "on_headers_finished": lambda: self._events.append(("headers", b"")),
            "on_part_data": lambda d, s, e: self._events.append(("data", bytes(d[s:e]))),
            "on_part_end": lambda: self._events.append(("end", b"")),
        }
        self._parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
        self._done = False
        self.fields: dict[str, str] = {}
        self.filename: str | None = None

    def _add_header(self, kind: str, data: bytes) -> None:
        self._events.append((kind, bytes(data)))

    async def _pump(self) -> bool:
        """Feed the next network chunk to the parser; False at the end of the body."""
        if self._done:
            return False
        try:
            chunk = await anext(self._body)
        except StopAsyncIteration:
            self._done = True
            self._parser.finalize()
            return False
        try:
            self._parser.write(chunk)
        except MultipartParseError as exc:
            raise _malformed(str(exc)) from exc
        return True

    async def _events_iter(self) -> AsyncIterator[tuple[str, bytes]]:
        while True:
            while self._events:
                yield self._events.pop(0)
            if not await self._pump() and not self._events:
                return

    async def open_file(self) -> None:
        """Read the small fields up to the first file part; its headers are then known."""
        headers: dict[str, str] = {}
        field, value = b"", b""
        name, text = "", b""
        events = self._events_iter()
        self._iter = events
        async for kind, data in events:
            if kind == "begin":
                headers, name, text = {}, "", b""
            elif kind == "field":
                field += data
            elif kind == "value":
                value += data
            elif kind == "header_end":
                headers[field.decode("latin-1").lower()] = value.decode("utf-8", "replace")
                field, value = b"", b""
            elif kind == "headers":
                params = _disposition(headers.get("content-disposition", ""))
                name = params.get("name", "")
                if "filename" in params:
                    self.filename = params["filename"]
                    return
            elif kind == "data":
                text += data
                if len(text) > MAX_FIELD_BYTES:
                    raise ValidationFailed(
                        [FieldError(name or "body", "max-length", "field too long")]
                    )
            elif kind == "end":
                if len(self.fields) >= MAX_FIELDS:
                    raise _malformed("too many fields")
                self.fields[name] = text.decode("utf-8", "replace")
        raise ValidationFailed(
            [FieldError("file", "required", "attach the file in a field named 'file'")]
        )

    async def file_chunks(self) -> AsyncIterator[bytes]:
        """The bytes of the file part opened by ``open_file``."""
        async for kind, data in self._iter:
            if kind == "data":
                yield data
            elif kind == "end":
                return
        raise _malformed("the body ended inside the file")
