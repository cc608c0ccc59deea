"""Promotion between environments: export approved changes as a signed bundle, import one from a
trusted environment as change requests awaiting this environment's checks and approvals
(ADR 0052). Each use case is one transaction that also writes its audit entry; a refused
bundle leaves no row behind."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Self

import structlog
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.audit import (
    AuditAction,
    AuditRecord,
    Keyring,
    PublicKeySet,
    append_audit,
)
from civicloom.db import UnitOfWork
from civicloom.governance.artifacts import Workspace
from civicloom.governance.bundle_domain import (
    Bundle,
    BundledChange,
    BundleRefused,
    Refusal,
    expect_next,
    open_bundle,
    payload_hash,
    seal_bundle,
)
from civicloom.governance.bundle_tables import BundleRow
from civicloom.governance.domain import ApprovedChange
from civicloom.governance.services import list_approved_changes, submit_imported_change
from civicloom.kernel import (
    Clock,
    Conflict,
    DomainError,
    NotFound,
    Principal,
    ValidationFailed,
)
from civicloom.settings import ConfigurationError

log = structlog.get_logger(__name__)

EXPORT = "export"
IMPORT = "import"


@dataclass(frozen=True)
class ExportedBundle:
    """What ``export_bundle`` wrote: the bundle's id, its sequence and the file."""

    bundle_id: str
    environment: str
    sequence: int
    path: Path
    change_ids: tuple[str, ...]


@dataclass(frozen=True)
class ImportedBundle:
    """What ``import_bundle`` queued: the source's change ids and the change requests here."""

    bundle_id: str
    source_environment: str
    sequence: int
    change_ids: tuple[str, ...]
    local_change_ids: tuple[str, ...]


@dataclass(frozen=True)
class BundleRecord:
    """One bundle this deployment exported or imported, as ``civicloom bundle list`` shows it."""

    bundle_id: str
    direction: str
    environment: str
    sequence: int
    created_at: datetime
    recorded_at: datetime
    actor: str
    change_ids: tuple[str, ...]
    local_change_ids: tuple[str, ...]


def bundled(change: ApprovedChange) -> BundledChange:
    """An approved change in the form a bundle carries."""
    return BundledChange(
        id=change.id,
        kind=str(change.kind),
        target=change.target,
        title=change.title,
        files=dict(change.files),
        approvals=tuple((str(p), str(a)) for p, a in change.approvals),
        effective_at=change.effective_at.isoformat() if change.effective_at else None,
    )


async def export_bundle(
    uow: UnitOfWork,
    keyring: Keyring,
    *,
    environment: str,
    change_ids: Sequence[str],
    out: Path,
    actor: str,
    now: datetime,
) -> ExportedBundle:
    """Sign the approved changes into ``out`` as this environment's next bundle.

    The file is written beside ``out`` before the commit and moved into place after it, so a
    failed commit leaves no file and a written bundle always has its sequence recorded.
    """
    wanted = list(dict.fromkeys(change_ids))
    async with uow:
        session = uow.session
        approved = await list_approved_changes(_Joined(uow), wanted)
        changes = [bundled(c) for c in approved]
        last = await session.scalar(
            select(func.max(BundleRow.sequence)).where(
                BundleRow.direction == EXPORT, BundleRow.environment == environment
            )
        )
        sequence = (last or 0) + 1
        bundle_id = str(uuid.uuid4())
        text = seal_bundle(
            keyring,
            bundle_id=bundle_id,
            source_environment=environment,
            sequence=sequence,
            created_at=now,
            changes=changes,
        )
        ids = [c.id for c in changes]
        session.add(
            BundleRow(
                bundle_id=bundle_id,
                direction=EXPORT,
                environment=environment,
                sequence=sequence,
                payload_hash=payload_hash(changes),
                created_at=now,
                recorded_at=now,
                actor=actor,
                change_ids=ids,
                local_change_ids=ids,
                signed=text,
            )
        )
        await append_audit(
            session,
            AuditRecord(
                actor=actor,
                action=AuditAction.BUNDLE_EXPORTED,
                subject_type="bundle",
                subject_id=bundle_id,
                occurred_at=now,
                details={
                    "environment": environment,
                    "sequence": sequence,
                    "changes": ids,
                    "payload_hash": payload_hash(changes),
                    "signing_key": keyring.kid,
                },
            ),
        )
        partial = out.with_name(f".{out.name}.{bundle_id}.partial")
        partial.write_text(text, encoding="ascii")
        try:
            await uow.commit()
        except IntegrityError as exc:  # a concurrent export took this sequence first
            partial.unlink(missing_ok=True)
            raise Conflict(
                f"another export took bundle {sequence} of {environment} at the same time; "
                "export again"
            ) from exc
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    os.replace(partial, out)
    log.info("bundle.exported", bundle_id=bundle_id, sequence=sequence, changes=ids)
    return ExportedBundle(bundle_id, environment, sequence, out, tuple(ids))


def trusted_keys(sources: Mapping[str, Path]) -> dict[str, PublicKeySet]:
    """The public keys of every trusted source environment, read from the JWKS files
    (``civicloom keys jwks``) the setting names; a missing or unreadable file is an error that
    names the setting, never an empty trust."""
    found: dict[str, PublicKeySet] = {}
    for name, path in sources.items():
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigurationError(
                f"bundle_trusted_sources.{name}: cannot read the JWKS file {path}: {exc}"
            ) from exc
        keys = PublicKeySet.from_jwks(document if isinstance(document, dict) else {})
        if not keys.keys:
            raise ConfigurationError(
                f"bundle_trusted_sources.{name}: {path} holds no Ed25519 public key"
            )
        found[name] = keys
    return found


async def import_bundle(
    uow: UnitOfWork,
    text: str,
    *,
    environment: str,
    trusted: Mapping[str, PublicKeySet],
    actor: Principal,
    clock: Clock,
    ws: Workspace | None = None,
) -> ImportedBundle:
    """Verify a bundle and queue each of its changes for this environment's checks and
    approvals, in one transaction; BundleRefused (nothing written) says why it was refused."""
    try:
        bundle = open_bundle(text, own_environment=environment, trusted=trusted)
        async with uow:
            imported = await _import(uow, bundle, actor=actor, clock=clock, ws=ws)
    except BundleRefused as refused:
        log.warning("bundle.refused", reason=str(refused.reason), message=refused.message)
        raise
    log.info(
        "bundle.imported",
        bundle_id=imported.bundle_id,
        source=imported.source_environment,
        sequence=imported.sequence,
    )
    return imported


async def _import(
    uow: UnitOfWork, bundle: Bundle, *, actor: Principal, clock: Clock, ws: Workspace | None
) -> ImportedBundle:
    session, now = uow.session, clock.now()
    source = bundle.source_environment
    last = (
        await session.execute(
            select(BundleRow.sequence, BundleRow.recorded_at)
            .where(BundleRow.direction == IMPORT, BundleRow.environment == source)
            .order_by(BundleRow.sequence.desc())
            .limit(1)
        )
    ).first()
    expect_next(bundle, last[0] if last else 0, last[1] if last else None)
    if await session.get(BundleRow, bundle.bundle_id) is not None:
        raise BundleRefused(
            Refusal.REPLAY,
            f"bundle {bundle.bundle_id} was imported already; a bundle is imported once",
        )
    local: list[str] = []
    joined = _Joined(uow)
    for change in bundle.changes:
        effective = datetime.fromisoformat(change.effective_at) if change.effective_at else None
        try:
            local.append(
                await submit_imported_change(
                    joined,
                    kind=change.kind,
                    target=change.target,
                    title=change.title,
                    files=change.files,
                    source_environment=source,
                    bundle_id=bundle.bundle_id,
                    actor=actor,
                    clock=clock,
                    ws=ws,
                    effective_at=effective if effective and effective > now else None,
                )
            )
        except (DomainError, ValueError) as exc:
            raise BundleRefused(
                Refusal.CHANGE_REFUSED,
                f"change {change.id} ({change.title}) cannot be queued here: {_reason(exc)}",
            ) from exc
    try:
        session.add(
            BundleRow(
                bundle_id=bundle.bundle_id,
                direction=IMPORT,
                environment=source,
                sequence=bundle.sequence,
                payload_hash=bundle.payload_hash,
                created_at=bundle.created_at,
                recorded_at=now,
                actor=actor.audit_name,
                change_ids=[c.id for c in bundle.changes],
                local_change_ids=local,
                signed=bundle.signed,
            )
        )
        await append_audit(
            session,
            AuditRecord(
                actor=actor.audit_name,
                action=AuditAction.BUNDLE_IMPORTED,
                subject_type="bundle",
                subject_id=bundle.bundle_id,
                occurred_at=now,
                details={
                    "source_environment": source,
                    "sequence": bundle.sequence,
                    "payload_hash": bundle.payload_hash,
                    "changes": [c.id for c in bundle.changes],
                    "change_requests": local,
                },
            ),
        )
        await uow.commit()
    except IntegrityError as exc:  # a concurrent import of the same sequence won the race
        raise BundleRefused(
            Refusal.REPLAY, f"bundle {bundle.sequence} from {source} was imported meanwhile"
        ) from exc
    return ImportedBundle(
        bundle.bundle_id, source, bundle.sequence, tuple(c.id for c in bundle.changes), tuple(local)
    )


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationFailed):
        return "; ".join([exc.detail, *(e.message for e in exc.errors)])
    return exc.detail if isinstance(exc, DomainError) else str(exc)


class _Joined(UnitOfWork):
    """An open unit of work lent to governance's use cases: entering it again keeps the open
    session, and their ``commit()`` only flushes, so every change of a bundle, the bundle's
    record and their audit entries commit together, once, or not at all."""

    def __init__(self, outer: UnitOfWork) -> None:  # no super(): it opens no session
        self._outer = outer

    @property
    def session(self) -> AsyncSession:
        """The outer unit of work's session."""
        return self._outer.session

    @property
    def is_postgresql(self) -> bool:
        """As the outer unit of work."""
        return self._outer.is_postgresql

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    async def commit(self) -> None:
        """Flush only: the outer unit of work commits."""
        await self._outer.session.flush()


async def list_bundles(uow: UnitOfWork) -> list[BundleRecord]:
    """Every bundle exported from or imported into this deployment, by source and sequence."""
    async with uow:
        rows = await uow.session.scalars(
            select(BundleRow).order_by(
                BundleRow.direction, BundleRow.environment, BundleRow.sequence
            )
        )
        return [
            BundleRecord(
                r.bundle_id,
                r.direction,
                r.environment,
                r.sequence,
                r.created_at,
                r.recorded_at,
                r.actor,
                tuple(r.change_ids),
                tuple(r.local_change_ids),
            )
            for r in rows
        ]


async def exported_copy(uow: UnitOfWork, environment: str, sequence: int) -> tuple[str, str]:
    """An exported bundle's id and signed text, byte for byte, to hand over again (a lost
    file; the receiver still expects its sequence); NotFound if there is no such bundle."""
    async with uow:
        row = await uow.session.scalar(
            select(BundleRow).where(
                BundleRow.direction == EXPORT,
                BundleRow.environment == environment,
                BundleRow.sequence == sequence,
            )
        )
        if row is None:
            raise NotFound(f"{environment} exported no bundle {sequence}")
        return row.bundle_id, row.signed
