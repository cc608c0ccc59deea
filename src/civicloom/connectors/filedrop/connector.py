"""Legacy batch systems: request files out, response files in, matched by idempotency key.

``call()`` writes a one-row request batch atomically and returns ACCEPTED; the worker calls
``poll()`` to collect answers. Response files may arrive partially (a batch answered over
several files), late, twice, or damaged: rows are de-duplicated by key (also across restarts,
through a journal), damaged files are quarantined with a reason and their keys stay pending,
so the engine's retry resubmits them and the department replays its stored answers.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Literal

from pydantic import Field

from civicloom.connectors.base import (
    ConnectorContext,
    PluginOptions,
    Stopwatch,
    body_hash,
    health,
    log,
    log_exchange,
)
from civicloom.connectors.filedrop.fileformat import (
    BadFile,
    IncompleteFile,
    parse,
    render,
    write_atomic,
)
from civicloom.departments import (
    CallOutcome,
    CapabilityCall,
    CapabilityResult,
    ExternalCompletion,
    HealthReport,
    PermanentError,
    TransientError,
)
from civicloom.kernel import sha256_hex

ANSWER_STATUSES = frozenset({"ok", "refused", "error"})


class FileDropOptions(PluginOptions):
    """Typed options of the file-exchange connector."""

    directory: Path | None = Field(None, description="Exchange root; default var/exchange/<id>.")
    format: Literal["csv"] = "csv"
    request_columns: list[str] = Field(
        default_factory=lambda: [
            "idempotency_key",
            "operation",
            "registration_number",
            "parcel_id",
            "activity",
            "new_address",
        ]
    )
    response_columns: list[str] = Field(
        default_factory=lambda: ["idempotency_key", "status", "reference", "message"]
    )
    key_column: str = "idempotency_key"
    signing_secret: str = Field(
        description=(
            "Name of the department's batch HMAC secret in connector secrets: request files are "
            "signed with it and answer files must be (ADR 0032)."
        )
    )
    operation_column: str = "operation"
    incomplete_grace_seconds: float = Field(
        30.0, ge=0, description="How long a response file without trailer may still be growing."
    )
    stale_after_seconds: float = Field(
        3600.0, gt=0, description="A request file not collected for this long is unhealthy."
    )


class FileDropBinding(PluginOptions):
    """How one capability maps onto a batch row."""

    operation: str
    rename: dict[str, str] = Field(
        default_factory=dict, description="Response column → output field, e.g. reference: zone."
    )
    status_flag: str | None = Field(
        None, description="Boolean output field that is true when the row's status is `ok`."
    )


class FileDropConnector:
    """Writes signed request batches and collects matched, correctly signed response files."""

    kind: str = "filedrop"

    def __init__(self, ctx: ConnectorContext) -> None:
        self.ctx = ctx
        self.department = ctx.department
        self.options = ctx.options(FileDropOptions)
        self.root = self.options.directory or (ctx.settings.var_dir / "exchange" / ctx.department)
        self.bindings = {
            name: FileDropBinding.model_validate(cap.binding("filedrop"))
            for name, cap in ctx.capabilities.items()
            if cap.binding("filedrop")
        }
        self.secret = ctx.secret(self.options.signing_secret) or ""
        self._seen: set[str] | None = None
        self._pending: dict[str, str] | None = None

    @property
    def inbound(self) -> Path:
        """Where request batches go (the department collects them)."""
        return self.root / "inbound"

    @property
    def outbound(self) -> Path:
        """Where the department leaves response files."""
        return self.root / "outbound"

    def _row(self, call: CapabilityCall) -> dict[str, str]:
        self.ctx.capability(call)
        binding = self.bindings.get(call.capability)
        if binding is None:
            raise PermanentError(f"{call.capability} has no filedrop binding")
        row = {c: _cell(call.input.get(c)) for c in self.options.request_columns}
        row[self.options.key_column] = call.idempotency_key
        row[self.options.operation_column] = binding.operation
        return row

    async def call(self, call: CapabilityCall) -> CapabilityResult:
        """Write a one-row batch (named after the key, so a retry rewrites the same batch)."""
        batch = await self.submit([call])
        return CapabilityResult(
            outcome=CallOutcome.ACCEPTED, output={"batch": batch}, external_reference=batch
        )

    async def submit(self, calls: list[CapabilityCall]) -> str:
        """Write several calls as one request batch; returns the batch id."""
        rows = [self._row(c) for c in calls]
        batch = sha256_hex("\n".join(sorted(r[self.options.key_column] for r in rows)))[:20]
        data = render(self.options.request_columns, rows, self.secret)
        watch = Stopwatch()
        try:
            await asyncio.to_thread(self._write, f"REQ_{batch}.csv", data)
        except OSError as exc:
            raise TransientError(f"{self.department}: cannot write batch: {exc}") from exc
        self._note_pending({c.idempotency_key: c.capability for c in calls})
        for call in calls:
            log_exchange(
                call, self.kind, outcome="accepted", elapsed_ms=watch.ms, request=data, batch=batch
            )
        return batch

    def _write(self, name: str, data: bytes) -> None:
        self.inbound.mkdir(parents=True, exist_ok=True)
        write_atomic(self.inbound / name, data)

    def _note_pending(self, keys: dict[str, str]) -> None:
        """Remember which capability each key asked for, to shape its answer later."""
        pending = self._pending_map()
        new = {k: v for k, v in keys.items() if pending.get(k) != v}
        if not new:
            return
        pending.update(new)
        path = self.root / "pending.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(
                "".join(json.dumps({"key": k, "capability": c}) + "\n" for k, c in new.items())
            )

    def _pending_map(self) -> dict[str, str]:
        if self._pending is None:
            self._pending = {}
            path = self.root / "pending.jsonl"
            lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
            for line in lines:
                try:
                    item = json.loads(line)
                    self._pending[str(item["key"])] = str(item["capability"])
                except (ValueError, KeyError, TypeError):
                    continue  # a torn last line after a crash
        return self._pending

    def shape(self, key: str, row: dict[str, str]) -> dict[str, object]:
        """A response row as the capability's output (renames and the status flag applied)."""
        output: dict[str, object] = {k: v for k, v in row.items() if k != self.options.key_column}
        binding = self.bindings.get(self._pending_map().get(key, ""))
        if binding is not None:
            for column, field_name in binding.rename.items():
                if column in output:
                    output[field_name] = output.pop(column)
            if binding.status_flag:
                output[binding.status_flag] = row.get("status") == "ok"
        return output

    def _journal(self) -> Path:
        return self.root / "consumed" / ".seen-keys"

    def _seen_keys(self) -> set[str]:
        if self._seen is None:
            journal = self._journal()
            text = journal.read_text(encoding="utf-8") if journal.exists() else ""
            self._seen = {line for line in text.splitlines() if line}
        return self._seen

    async def poll(self) -> list[ExternalCompletion]:
        """Collect every answer that arrived since the last poll (each key at most once)."""
        return await asyncio.to_thread(self._poll)

    def _poll(self) -> list[ExternalCompletion]:
        if not self.outbound.is_dir():
            return []
        seen = self._seen_keys()
        found: list[ExternalCompletion] = []
        key_col = self.options.key_column
        for path in sorted(self.outbound.glob("RSP_*.csv")):
            data = path.read_bytes()
            try:
                rows, bad_lines = parse(data, self.options.response_columns, self.secret)
            except IncompleteFile as exc:
                if time.time() - path.stat().st_mtime < self.options.incomplete_grace_seconds:
                    continue  # may still be growing; look again next poll
                self._quarantine(path, str(exc))
                continue
            except BadFile as exc:
                self._quarantine(path, str(exc))
                continue
            fresh = duplicates = 0
            for row in rows:
                key = row[key_col]
                if not key or row.get("status") not in ANSWER_STATUSES:
                    bad_lines.append(-1)
                    continue
                if key in seen:
                    duplicates += 1
                    continue
                seen.add(key)
                fresh += 1
                found.append(
                    ExternalCompletion(
                        key,
                        self.shape(key, row),
                        self.department,
                        capability=self._pending_map().get(key),
                    )
                )
            self._remember([c.idempotency_key for c in found[len(found) - fresh :]])
            self._move(path, self.root / "consumed")
            log.info(
                "batch_response_collected",
                department=self.department,
                file_sha256=body_hash(data),
                answers=fresh,
                duplicates=duplicates,
                malformed_rows=len(bad_lines),
            )
        return found

    def _remember(self, keys: list[str]) -> None:
        if not keys:
            return
        journal = self._journal()
        journal.parent.mkdir(parents=True, exist_ok=True)
        with journal.open("a", encoding="utf-8") as fh:
            fh.write("".join(f"{k}\n" for k in keys))
            fh.flush()
            os.fsync(fh.fileno())

    def _quarantine(self, path: Path, reason: str) -> None:
        target = self._move(path, self.root / "quarantine")
        target.with_name(target.name + ".reason").write_text(reason + "\n", encoding="utf-8")
        log.warning("batch_response_quarantined", department=self.department, reason=reason)

    @staticmethod
    def _move(path: Path, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / path.name
        if target.exists():
            target = folder / f"{path.stem}.{time.time_ns()}{path.suffix}"
        path.replace(target)
        return target

    async def check(self) -> HealthReport:
        """The exchange is writable and the department collects requests in time."""
        watch = Stopwatch()
        if not self.root.exists():
            return health(self.department, self.kind, False, f"{self.root} missing", watch)
        if not os.access(self.root, os.W_OK):
            return health(self.department, self.kind, False, f"{self.root} not writable", watch)
        now = time.time()
        waiting = list(self.inbound.glob("REQ_*.csv")) if self.inbound.is_dir() else []
        stale = [p for p in waiting if now - p.stat().st_mtime > self.options.stale_after_seconds]
        answers = len(list(self.outbound.glob("RSP_*.csv"))) if self.outbound.is_dir() else 0
        detail = f"{len(waiting)} request(s) waiting, {len(stale)} stale, {answers} answer(s)"
        return health(self.department, self.kind, not stale, detail, watch)

    async def close(self) -> None:
        """Nothing to release."""


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
