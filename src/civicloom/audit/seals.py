"""Sealing the chains into a signed Merkle root, and exporting entries with their proofs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.audit.domain import GENESIS_HASH, ChainHead, chain_key, merkle_proof, merkle_root
from civicloom.audit.services import SEAL_LOCK_KEY
from civicloom.audit.signing import Keyring
from civicloom.audit.tables import AuditEntryRow, AuditReadRow, AuditSealRow
from civicloom.audit.trail import Audited, trail
from civicloom.db import UnitOfWork
from civicloom.kernel import Clock
from civicloom.observability import get_logger

log = get_logger(__name__)


# At most this many entries per seal: a seal's work and stored value stay bounded however
# far behind it is (a backlog is sealed in several seals, each its own short transaction).
SEAL_BATCH = 50_000
# Sealers (worker jobs, the CLI) hold this lock while they compute and write a seal, so two
# never write the same seal number; appenders never take it.
SEALER_LOCK_KEY = 0x43_49_56_57  # "CIVW"
# How the barrier asks for the appenders' lock: without waiting, this many times, this far
# apart; then once waiting at most _BARRIER_WAIT (appenders queue behind it only that long).
_BARRIER_TRIES, _BARRIER_PAUSE, _BARRIER_WAIT = 20, 0.01, "100ms"
_LOCK_NOT_AVAILABLE = "55P03"  # SQLSTATE of a lock_timeout that ran out


async def sealable_up_to(uow: UnitOfWork) -> int | None:
    """The highest entry sequence number below which every entry is committed (the barrier),
    or None if it could not be had without holding up appenders (the next run tries again).

    On PostgreSQL, sequence values are handed out before commit, so an entry with a lower
    number may still be in flight. Appenders hold ``SEAL_LOCK_KEY`` shared until they commit;
    the barrier takes it exclusively in its own transaction, only to read ``max(seq)``, and
    commits at once. It asks without waiting first (appenders never queue behind it), and
    only then waits a bounded moment. The seal itself is computed afterwards without it.
    """
    async with uow:
        session = uow.session
        if session.get_bind().dialect.name != "postgresql":  # one writer: all is committed
            return await session.scalar(select(func.max(AuditEntryRow.seq)))
        for _ in range(_BARRIER_TRIES):
            got = await session.scalar(
                text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": SEAL_LOCK_KEY}
            )
            if got:
                return await session.scalar(select(func.max(AuditEntryRow.seq)))
            await asyncio.sleep(_BARRIER_PAUSE)
        await session.execute(text(f"SET LOCAL lock_timeout = '{_BARRIER_WAIT}'"))
        try:
            await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SEAL_LOCK_KEY})
        except DBAPIError as exc:
            if getattr(exc.orig, "pgcode", None) != _LOCK_NOT_AVAILABLE:
                raise
            log.warning("audit_seal_barrier_busy")
            return None
        return await session.scalar(select(func.max(AuditEntryRow.seq)))


async def seal_audit(
    session: AsyncSession,
    now: datetime,
    keyring: Keyring,
    up_to: int | None,
    batch: int = SEAL_BATCH,
) -> AuditSealRow | None:
    """Seal the heads of every chain that grew since the last seal, over at most ``batch``
    entries up to ``up_to`` (from ``sealable_up_to``: every entry at or below it is
    committed); None if nothing is new. Holds no lock an appender waits on.

    Each seal signs (Ed25519, compact JWS) the Merkle root over those heads and the previous
    seal's root, so the seals form a chain too and together pin the head of every chain.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SEALER_LOCK_KEY})
    previous = await session.scalar(select(AuditSealRow).order_by(AuditSealRow.id.desc()).limit(1))
    since = previous.up_to_seq if previous else 0
    if up_to is None or up_to <= since:
        return None
    up_to = min(up_to, since + batch)
    newest = (
        select(AuditEntryRow.chain, func.max(AuditEntryRow.position).label("position"))
        .where(AuditEntryRow.seq > since, AuditEntryRow.seq <= up_to)
        .group_by(AuditEntryRow.chain)
        .subquery()
    )
    rows = await session.execute(
        select(AuditEntryRow.chain, AuditEntryRow.position, AuditEntryRow.hash)
        .join(
            newest,
            (AuditEntryRow.chain == newest.c.chain) & (AuditEntryRow.position == newest.c.position),
        )
        .order_by(AuditEntryRow.chain)
    )
    heads = [ChainHead(chain, position, digest) for chain, position, digest in rows]
    root = merkle_root([h.leaf() for h in heads])
    seal_id = (previous.id if previous else 0) + 1
    prev_root = previous.root if previous else GENESIS_HASH
    payload = {
        "typ": "civicloom-audit-seal",
        "seal": seal_id,
        "sealed_at": now.isoformat(),
        "up_to_seq": up_to,
        "heads": len(heads),
        "root": root,
        "prev_root": prev_root,
    }
    seal = AuditSealRow(
        id=seal_id,
        sealed_at=now,
        up_to_seq=up_to,
        heads=[[h.chain, h.position, h.hash] for h in heads],
        root=root,
        prev_root=prev_root,
        kid=keyring.kid,
        signature=keyring.sign(payload, typ="civicloom-audit-seal+jws"),
    )
    session.add(seal)
    await session.flush()
    return seal


def trail_line(row: Row[Any]) -> dict[str, Any]:
    """A row of ``audit.trail`` in the JSON Lines export shape: an entry, or a read not yet
    folded (``"type": "pending_read"``, its id and future chain, no position or hash yet)."""
    if not row.pending:
        return {
            "type": "entry",
            "seq": row.ord,
            "chain": row.chain,
            "position": row.position,
            **_record_line(row),
            "prev_hash": row.prev_hash,
            "hash": row.hash,
        }
    return {
        "type": "pending_read",
        "read_id": row.ord,
        "chain": chain_key(row.subject_type, row.subject_id),
        **_record_line(row),
    }


def _record_line(row: Row[Any]) -> dict[str, Any]:
    return {
        "occurred_at": row.occurred_at.isoformat(),
        "actor": row.actor,
        "action": row.action,
        "subject_type": row.subject_type,
        "subject_id": row.subject_id,
        "department": row.department,
        "purpose": row.purpose,
        "fields": row.fields,
        "details": row.details,
    }


async def export_audit(
    session: AsyncSession, chain: str | None = None
) -> AsyncIterator[dict[str, Any]]:
    """JSON Lines records: entries (of one chain or all), the reads not yet folded into them
    (ADR 0073; one statement with the entries), then seals, then Merkle proofs.

    A proof line shows that a chain head is a leaf of a signed seal; the entries' hash links
    then cover every earlier entry of that chain.
    """

    def where(table: Audited) -> list[ColumnElement[bool]]:
        if chain is None:
            return []
        if table is AuditEntryRow:
            return [AuditEntryRow.chain == chain]
        subject_type, _, subject_id = chain.partition(":")
        return [AuditReadRow.subject_type == subject_type, AuditReadRow.subject_id == subject_id]

    sub = trail(where)
    order = (sub.c.pending, sub.c.chain, sub.c.position, sub.c.ord)
    async for row in await session.stream(select(sub).order_by(*order)):
        yield trail_line(row)
    seals = list(await session.scalars(select(AuditSealRow).order_by(AuditSealRow.id)))
    for seal in seals:
        yield {
            "type": "seal",
            "seal": seal.id,
            "sealed_at": seal.sealed_at.isoformat(),
            "up_to_seq": seal.up_to_seq,
            "root": seal.root,
            "prev_root": seal.prev_root,
            "kid": seal.kid,
            "jws": seal.signature,
        }
    for seal in seals:
        heads = [ChainHead(str(c), int(p), str(h)) for c, p, h in seal.heads]
        leaves = [h.leaf() for h in heads]
        for index, head in enumerate(heads):
            if chain is not None and head.chain != chain:
                continue
            yield {
                "type": "proof",
                "seal": seal.id,
                "chain": head.chain,
                "position": head.position,
                "hash": head.hash,
                "leaf": leaves[index],
                "path": [{"side": side, "hash": h} for side, h in merkle_proof(leaves, index)],
                "root": seal.root,
            }


async def seal_now(
    uow: UnitOfWork, clock: Clock, keyring: Keyring, batch: int = SEAL_BATCH
) -> AuditSealRow | None:
    """Seal what grew since the last seal (the worker's job and the CLI): the barrier, then one
    short transaction per ``batch`` entries until caught up with it; returns the last seal."""
    up_to = await sealable_up_to(uow)
    last: AuditSealRow | None = None
    while True:
        async with uow:
            sealed = await seal_audit(uow.session, clock.now(), keyring, up_to, batch)
            await uow.commit()
        if sealed is None:
            return last
        last = sealed
        if up_to is None or sealed.up_to_seq >= up_to:
            return last
