"""The nightly batch system: polls inbound/, answers in outbound/, idempotently."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

from simulators.common.faults import FaultInjector
from simulators.common.ledger import Ledger
from simulators.local_admin.batchfile import (
    REQUEST_HEADER,
    RESPONSE_HEADER,
    parse_csv,
    render_csv,
    with_trailer,
    write_atomic,
)
from simulators.local_admin.registry import LocalAdminRegistry, RegistryError

log = logging.getLogger("simulators.local_admin.batch")
BATCH_FAULTS: dict[str, Any] = {"partial_rate": 0.0, "duplicate_rate": 0.0, "late_ms": 0}


class BatchExchange:
    """Processes REQ_<batch>.csv files and writes RSP_<batch>[-n].csv files."""

    def __init__(
        self,
        root: Path,
        registry: LocalAdminRegistry,
        ledger: Ledger,
        faults: FaultInjector,
        secret: str,
    ) -> None:
        """Create the exchange directories under ``root``; ``secret`` signs the files."""
        self.root = root
        self.secret = secret
        self.registry = registry
        self.ledger = ledger
        self.faults = faults
        self.deferred: list[tuple[str, list[dict[str, str]]]] = []
        for sub in ("inbound", "outbound", "archive", "rejected"):
            (root / sub).mkdir(parents=True, exist_ok=True)

    def _answer(self, row: dict[str, str]) -> dict[str, str]:
        key, op = row["idempotency_key"], row["operation"]
        if not key:
            return {
                "idempotency_key": "",
                "status": "error",
                "reference": "",
                "message": "idempotency_key is required",
            }
        reg, parcel = row["registration_number"], row["parcel_id"]
        try:
            if op == "check_zoning":
                result, _ = self.ledger.execute(
                    key,
                    "local_admin.check_zoning",
                    lambda: self.registry.check_zoning(parcel, row["activity"]),
                )
                status = "ok" if result["allowed"] else "refused"
                return {
                    "idempotency_key": key,
                    "status": status,
                    "reference": result["zone"],
                    "message": result["reason"],
                }
            if op == "register_activity":
                result, _ = self.ledger.execute(
                    key,
                    "local_admin.register_activity",
                    lambda: self.registry.register_activity(key, reg, parcel, row["activity"]),
                )
            elif op == "update_address":
                result, _ = self.ledger.execute(
                    key,
                    "local_admin.update_address",
                    lambda: self.registry.update_address(key, reg, parcel, row["new_address"]),
                )
            else:
                return {
                    "idempotency_key": key,
                    "status": "error",
                    "reference": "",
                    "message": f"unknown operation {op!r}",
                }
        except RegistryError as exc:
            status = "refused" if exc.code == "refused" else "error"
            return {
                "idempotency_key": key,
                "status": status,
                "reference": "",
                "message": exc.message,
            }
        return {
            "idempotency_key": key,
            "status": "ok",
            "reference": result["reference"],
            "message": result["message"],
        }

    def _response_path(self, batch: str) -> Path:
        out = self.root / "outbound"
        path = out / f"RSP_{batch}.csv"
        n = 2
        while path.exists():
            path = out / f"RSP_{batch}-{n}.csv"
            n += 1
        return path

    def _respond(self, batch: str, rows: list[dict[str, str]]) -> None:
        answers = [self._answer(r) for r in rows]
        body = render_csv(RESPONSE_HEADER, answers)
        data = with_trailer(body, self.secret)
        if self.faults.roll("malformed_rate"):
            if answers and self.faults.roll_half():
                last = answers[-1]
                short = f"{last['idempotency_key']},{last['status']}\n".encode()
                data = with_trailer(render_csv(RESPONSE_HEADER, answers[:-1]) + short, self.secret)
            else:
                data = body + b"#hmac-sha256=" + b"0" * 64 + b"\n"
        write_atomic(self._response_path(batch), data)
        if self.faults.roll("duplicate_rate"):
            write_atomic(self._response_path(batch), data)
        log.info("batch %s answered %d rows", batch, len(answers))

    def _reject(self, path: Path, reason: str) -> None:
        target = self._unique(self.root / "rejected" / path.name)
        path.replace(target)
        target.with_name(target.name + ".reason").write_text(reason + "\n", encoding="utf-8")
        log.warning("rejected %s: %s", path.name, reason)

    @staticmethod
    def _unique(path: Path) -> Path:
        if not path.exists():
            return path
        return path.with_name(f"{path.stem}.{time.time_ns()}{path.suffix}")

    def process_once(self) -> None:
        """Answer deferred rows, then every complete request file in inbound/."""
        if self.faults.value("down"):
            return
        deferred, self.deferred = self.deferred, []
        for batch, rows in deferred:
            self._respond(batch, rows)
        for path in sorted((self.root / "inbound").glob("REQ_*.csv")):
            batch = path.stem.removeprefix("REQ_")
            try:
                rows = parse_csv(path.read_bytes(), REQUEST_HEADER, self.secret)
            except (ValueError, UnicodeDecodeError) as exc:
                self._reject(path, str(exc))
                continue
            late = self.faults.seconds("late_ms")
            if late > 0:
                time.sleep(late)
            if len(rows) > 1 and self.faults.roll("partial_rate"):
                half = len(rows) // 2
                self.deferred.append((batch, rows[half:]))
                rows = rows[:half]
            self._respond(batch, rows)
            path.replace(self._unique(self.root / "archive" / path.name))

    async def run(self, interval: float) -> None:
        """Poll forever every ``interval`` seconds."""
        while True:
            try:
                await asyncio.to_thread(self.process_once)
            except Exception:
                log.exception("batch cycle failed")
            await asyncio.sleep(interval)
