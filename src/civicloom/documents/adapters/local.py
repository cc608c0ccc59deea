"""Documents on the local filesystem (the embedded default): ``<var_dir>/documents``."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

_KEY = re.compile(r"^[a-z0-9][a-z0-9/-]{0,199}$")


class LocalDocumentStore:
    """Files written atomically (temp file, fsync, rename) under one root directory."""

    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if not _KEY.match(key) or ".." in key:
            raise ValueError(f"invalid storage key {key!r}")
        return self.root / key

    def _put(self, key: str, source: BinaryIO) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                source.seek(0)
                shutil.copyfileobj(source, out, 1024 * 1024)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def put(self, key: str, source: BinaryIO, media_type: str) -> None:
        """Store a file."""
        await asyncio.to_thread(self._put, key, source)

    async def get(self, key: str) -> bytes:
        """Read a file."""
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError as exc:
            raise KeyError(key) from exc

    async def delete(self, key: str) -> None:
        """Remove a file."""
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

    async def exists(self, key: str) -> bool:
        """Whether the file is there."""
        return await asyncio.to_thread(self._path(key).is_file)
