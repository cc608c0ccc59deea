"""Legacy batch systems: request files out, response files in, matched by idempotency key.

``call()`` writes a one-row request batch atomically and returns ACCEPTED; the worker reads
answers with ``read_answers()`` and, once the engine has recorded them, ``acknowledge()``s
the file (``connectors.services.collect_batch_answers``; the seen-set of recorded keys lives
in the database, so any number of workers can share one exchange directory). Response files
may arrive partially (a batch answered over several files), late, twice, or damaged: damaged
files are quarantined with a reason and their keys stay pending, so the engine's retry
resubmits them and the department replays its stored answers.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import dataclass
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


@dataclass(frozen=True)
class AnswerFile:
    """One signed response file still in the exchange, and the answers it holds."""

    path: Path
    sha256: str
    answers: list[ExternalCompletion]
    malformed_rows: int


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

    def _asked(self, key: str) -> str | None:
        """The capability a key asked for (re-read when another worker wrote the request)."""
        if key not in self._pending_map():
            self._pending = None
        return self._pending_map().get(key)

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
        binding = self.bindings.get(self._asked(key) or "")
        if binding is not None:
            for column, field_name in binding.rename.items():
                if column in output:
                    output[field_name] = output.pop(column)
            if binding.status_flag:
                output[binding.status_flag] = row.get("status") == "ok"
        return output

    async def read_answers(self) -> list[AnswerFile]:
        """Every correctly signed response file waiting in the exchange, with its answers.

        Nothing is moved or marked: a file is acknowledged (``acknowledge``) only after the
        engine has recorded its answers, so a worker that dies in between loses nothing.
        Damaged and forged files never hold answers; they are quarantined at once.
        """
        return await asyncio.to_thread(self._read_answers)

    def _read_answers(self) -> list[AnswerFile]:
        if not self.outbound.is_dir():
            return []
        files: list[AnswerFile] = []
        key_col = self.options.key_column
        for path in sorted(self.outbound.glob("RSP_*.csv")):
            try:
                data = path.read_bytes()
                mtime = path.stat().st_mtime
            except FileNotFoundError:
                continue  # another worker acknowledged or quarantined it meanwhile
            try:
                rows, bad_lines = parse(data, self.options.response_columns, self.secret)
            except IncompleteFile as exc:
                if time.time() - mtime < self.options.incomplete_grace_seconds:
                    continue  # may still be growing; look again next poll
                self._quarantine(path, str(exc))
                continue
            except BadFile as exc:
                self._quarantine(path, str(exc))
                continue
            answers: dict[str, ExternalCompletion] = {}
            for row in rows:
                key = row[key_col]
                if not key or row.get("status") not in ANSWER_STATUSES:
                    bad_lines.append(-1)
                    continue
                if key not in answers:  # a key twice in one file is one answer
                    answers[key] = ExternalCompletion(
                        key, self.shape(key, row), self.department, capability=self._asked(key)
                    )
            files.append(AnswerFile(path, body_hash(data), list(answers.values()), len(bad_lines)))
        return files

    def acknowledge(self, answer_file: AnswerFile) -> None:
        """Move an answered file to ``consumed/`` (a file another worker moved is fine)."""
        moved = self._move(answer_file.path, self.root / "consumed")
        if moved is not None:
            log.info(
                "batch_response_collected",
                department=self.department,
                file_sha256=answer_file.sha256,
                answers=len(answer_file.answers),
                malformed_rows=answer_file.malformed_rows,
            )

    def _quarantine(self, path: Path, reason: str) -> None:
        target = self._move(path, self.root / "quarantine")
        if target is None:
            return  # another worker quarantined it first
        target.with_name(target.name + ".reason").write_text(reason + "\n", encoding="utf-8")
        log.warning("batch_response_quarantined", department=self.department, reason=reason)

    @staticmethod
    def _move(path: Path, folder: Path) -> Path | None:
        """Move ``path`` into ``folder`` (never over another file); None when it is gone."""
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / path.name
        if target.exists():
            target = folder / f"{path.stem}.{time.time_ns()}.{os.getpid()}{path.suffix}"
        try:
            os.link(path, target)  # fails, rather than overwrites, when the name is taken
        except FileExistsError:
            target = folder / f"{path.stem}.{time.time_ns()}.{os.getpid()}{path.suffix}"
            try:
                os.link(path, target)
            except FileNotFoundError:
                return None
        except FileNotFoundError:
            return None  # another worker moved it first
        try:
            path.unlink()
        except FileNotFoundError:
            target.unlink(missing_ok=True)  # the other worker's link is the one that counts
            return None
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
