"""Checking every chain and every seal, naming the exact entry that was tampered with."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.audit.domain import GENESIS_HASH, ChainHead, chain_hash, merkle_root
from civicloom.audit.reads import folded_twice, pending_reads
from civicloom.audit.services import record_of
from civicloom.audit.signing import PublicKeySet, SignatureInvalid
from civicloom.audit.tables import AuditEntryRow, AuditSealRow


@dataclass(frozen=True)
class AuditProblem:
    """One detected inconsistency, naming the entry (global ``seq``) or seal concerned."""

    kind: str  # modified | deleted | inserted | reordered | seal | duplicated
    message: str
    seq: int | None = None
    chain: str | None = None
    position: int | None = None


@dataclass
class AuditReport:
    """The outcome of ``civicloom audit verify``."""

    entries: int = 0
    chains: int = 0
    seals: int = 0
    # reads of personal data recorded, not yet folded into their chains (ADR 0073)
    pending_reads: int = 0
    # when the oldest of them happened (None when none waits): a fold that stopped shows here
    oldest_pending_read_at: datetime | None = None
    problems: list[AuditProblem] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        """True when nothing was found."""
        return not self.problems

    def fold_lag(self, now: datetime) -> timedelta | None:
        """How long the oldest read waiting to be folded has waited at ``now`` (None when none
        waits; ADR 0081)."""
        at = self.oldest_pending_read_at
        return None if at is None else max(now - at, timedelta(0))


@dataclass(frozen=True)
class ChainReport:
    """Result of checking every chain (kept for callers of the first, global chain)."""

    entries: int
    valid: bool
    first_bad_seq: int | None = None


def _entry(row: AuditEntryRow) -> str:
    return f"entry #{row.seq} ({row.chain} position {row.position})"


def check_chain(rows: list[AuditEntryRow]) -> list[AuditProblem]:
    """Problems within one chain (rows ordered by position)."""
    problems: list[AuditProblem] = []
    by_hash = {row.hash: row for row in rows}
    expected, previous = 1, GENESIS_HASH

    def add(kind: str, row: AuditEntryRow, message: str) -> None:
        problems.append(AuditProblem(kind, message, row.seq, row.chain, row.position))

    for index, row in enumerate(rows):
        if chain_hash(row.prev_hash, record_of(row)) != row.hash:
            add("modified", row, f"{_entry(row)} was modified: its content does not match its hash")
        if row.position > expected:
            missing = (
                f"position {expected}"
                if row.position == expected + 1
                else f"positions {expected}-{row.position - 1}"
            )
            message = f"{row.chain}: the entry at {missing} was deleted (before {_entry(row)})"
            problems.append(AuditProblem("deleted", message, row.seq, row.chain, expected))
        elif row.prev_hash != previous:
            target = by_hash.get(row.prev_hash)
            if target is not None and target.position > row.position:
                add(
                    "reordered",
                    row,
                    f"{_entry(row)} was moved: it follows entry #{target.seq}, now after it",
                )
            elif target is not None and target.position < row.position - 1:
                for between in rows[:index]:
                    if target.position < between.position < row.position:
                        add(
                            "inserted",
                            between,
                            f"{_entry(between)} was inserted: #{row.seq} follows #{target.seq}",
                        )
            elif row.prev_hash == GENESIS_HASH:
                add("inserted", row, f"{_entry(row)} was inserted: it claims to start the chain")
            elif index == 0:
                add("deleted", row, f"{_entry(row)} follows an entry that no longer exists")
            else:
                before = rows[index - 1]
                add(
                    "modified",
                    before,
                    f"{_entry(before)} was replaced: entry #{row.seq} recorded another hash",
                )
        expected, previous = row.position + 1, row.hash
    return problems


async def _chains(session: AsyncSession) -> AsyncIterator[list[AuditEntryRow]]:
    result = await session.stream_scalars(
        select(AuditEntryRow).order_by(AuditEntryRow.chain, AuditEntryRow.position)
    )
    current: list[AuditEntryRow] = []
    async for row in result:
        if current and current[0].chain != row.chain:
            yield current
            current = []
        current.append(row)
    if current:
        yield current


async def verify_chain(session: AsyncSession) -> ChainReport:
    """Recompute every chain; report the first entry that does not match (no seal checks)."""
    count, bad = 0, list[int]()
    async for rows in _chains(session):
        count += len(rows)
        bad.extend(p.seq for p in check_chain(rows) if p.seq is not None)
    return ChainReport(entries=count, valid=not bad, first_bad_seq=min(bad) if bad else None)


def _check_seals(seals: list[AuditSealRow], keys: PublicKeySet | None, report: AuditReport) -> None:
    previous_root = GENESIS_HASH
    for seal in seals:
        heads = [ChainHead(str(c), int(p), str(h)) for c, p, h in seal.heads]
        root = merkle_root([h.leaf() for h in heads])
        problems = []
        if root != seal.root:
            problems.append("its chain heads do not match its Merkle root")
        if seal.prev_root != previous_root:
            problems.append("it does not follow the previous seal (a seal was altered or deleted)")
        if keys is not None:
            try:
                _, payload = keys.verify(seal.signature)
                signed = (
                    payload.get("seal"),
                    payload.get("root"),
                    payload.get("prev_root"),
                    payload.get("up_to_seq"),
                )
                if signed != (seal.id, seal.root, seal.prev_root, seal.up_to_seq):
                    problems.append("its stored fields differ from what was signed")
            except SignatureInvalid as exc:
                problems.append(f"its signature is invalid: {exc}")
        for problem in problems:
            report.problems.append(AuditProblem("seal", f"seal #{seal.id}: {problem}"))
        previous_root = seal.root


def _check_against_seals(
    rows: list[AuditEntryRow], pins: list[tuple[AuditSealRow, int, str]], report: AuditReport
) -> None:
    by_position = {row.position: row for row in rows}
    reported: set[int] = {p.seq for p in report.problems if p.seq is not None}
    chain = rows[0].chain if rows else "?"
    for seal, position, digest in pins:
        row = by_position.get(position)
        if row is None:
            report.problems.append(
                AuditProblem(
                    "deleted",
                    f"{chain}: the entry at position {position} (seal #{seal.id}) was deleted",
                    None,
                    chain,
                    position,
                )
            )
        elif row.hash != digest and row.seq not in reported:
            report.problems.append(
                AuditProblem(
                    "modified",
                    f"{_entry(row)} differs from seal #{seal.id}: the chain was rewritten",
                    row.seq,
                    row.chain,
                    row.position,
                )
            )
    if pins:
        seal, head, _ = pins[-1]
        for row in rows:
            inside = row.position <= head
            if inside != (row.seq <= seal.up_to_seq) and row.seq not in reported:
                where = "into the sealed part of the chain" if inside else "beyond the sealed head"
                report.problems.append(
                    AuditProblem(
                        "inserted",
                        f"{_entry(row)} was inserted {where} after seal #{seal.id}",
                        row.seq,
                        row.chain,
                        row.position,
                    )
                )


async def verify_audit(session: AsyncSession, keys: PublicKeySet | None) -> AuditReport:
    """Check every chain, every seal's signature, root and order, and every sealed head; count
    the reads not yet folded into their chains, and check none of them is in one already."""
    report = AuditReport()
    seals = list(await session.scalars(select(AuditSealRow).order_by(AuditSealRow.id)))
    report.seals = len(seals)
    _check_seals(seals, keys, report)
    pins: dict[str, list[tuple[AuditSealRow, int, str]]] = {}
    for seal in seals:
        for chain, position, digest in seal.heads:
            pins.setdefault(str(chain), []).append((seal, int(position), str(digest)))
    async for rows in _chains(session):
        report.entries += len(rows)
        report.chains += 1
        report.problems.extend(check_chain(rows))
        _check_against_seals(rows, pins.pop(rows[0].chain, []), report)
    for chain, chain_pins in pins.items():
        seal, position, _ = chain_pins[-1]
        report.problems.append(
            AuditProblem(
                "deleted",
                f"{chain}: every entry was deleted (seal #{seal.id} has position {position})",
                None,
                chain,
                position,
            )
        )
    report.pending_reads, report.oldest_pending_read_at = await pending_reads(session)
    for read_id, seq, chain, position in await folded_twice(session):
        report.problems.append(
            AuditProblem(
                "duplicated",
                f"read #{read_id} is still waiting to be folded but is already entry #{seq} "
                f"({chain} position {position})",
                seq,
                chain,
                position,
            )
        )
    return report
