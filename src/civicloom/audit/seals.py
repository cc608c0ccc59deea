"""Sealing the chains into a signed Merkle root, and exporting entries with their proofs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.audit.domain import GENESIS_HASH, ChainHead, merkle_proof, merkle_root
from civicloom.audit.services import SEAL_LOCK_KEY
from civicloom.audit.signing import Keyring
from civicloom.audit.tables import AuditEntryRow, AuditSealRow
from civicloom.db import UnitOfWork
from civicloom.kernel import Clock


async def seal_audit(session: AsyncSession, now: datetime, keyring: Keyring) -> AuditSealRow | None:
    """Seal the heads of every chain that grew since the last seal; None if nothing is new.

    Each seal signs (Ed25519, compact JWS) the Merkle root over those heads and the previous
    seal's root, so the seals form a chain too and together pin the head of every chain.
    """
    if session.get_bind().dialect.name == "postgresql":
        # Wait until every transaction that is appending has committed; block new ones briefly.
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SEAL_LOCK_KEY})
    previous = await session.scalar(select(AuditSealRow).order_by(AuditSealRow.id.desc()).limit(1))
    since = previous.up_to_seq if previous else 0
    up_to = await session.scalar(select(func.max(AuditEntryRow.seq)))
    if up_to is None or up_to <= since:
        return None
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


def entry_line(row: AuditEntryRow) -> dict[str, Any]:
    """One entry in the JSON Lines export shape."""
    return {
        "type": "entry",
        "seq": row.seq,
        "chain": row.chain,
        "position": row.position,
        "occurred_at": row.occurred_at.isoformat(),
        "actor": row.actor,
        "action": row.action,
        "subject_type": row.subject_type,
        "subject_id": row.subject_id,
        "department": row.department,
        "purpose": row.purpose,
        "fields": row.fields,
        "details": row.details,
        "prev_hash": row.prev_hash,
        "hash": row.hash,
    }


async def export_audit(
    session: AsyncSession, chain: str | None = None
) -> AsyncIterator[dict[str, Any]]:
    """JSON Lines records: entries (of one chain or all), then seals, then Merkle proofs.

    A proof line shows that a chain head is a leaf of a signed seal; the entries' hash links
    then cover every earlier entry of that chain.
    """
    query = select(AuditEntryRow).order_by(AuditEntryRow.chain, AuditEntryRow.position)
    if chain is not None:
        query = query.where(AuditEntryRow.chain == chain)
    async for row in await session.stream_scalars(query):
        yield entry_line(row)
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


async def seal_now(uow: UnitOfWork, clock: Clock, keyring: Keyring) -> AuditSealRow | None:
    """Seal what grew since the last seal, as one transaction (the worker's job and the CLI)."""
    async with uow:
        sealed = await seal_audit(uow.session, clock.now(), keyring)
        await uow.commit()
    return sealed
