"""Tamper with the audit tables directly; ``verify_audit`` must catch it and name the entry."""

# ruff: noqa: S608 - these tests build tampering SQL from integer sequence numbers on purpose

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.audit import (
    AuditAction,
    AuditRecord,
    Keyring,
    append_audit,
    chain_hash,
    load_or_create_keyring,
    seal_now,
    verify_audit,
    verify_chain,
)
from civicloom.audit.tables import AuditEntryRow
from civicloom.kernel import FixedClock
from civicloom.runtime import Container

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
APPS = ("app-a", "app-b", "app-c")


def record(app: str, n: int) -> AuditRecord:
    """The n-th entry about an application."""
    return AuditRecord(
        actor="dev-login:olivia",
        action=AuditAction.APPLICATION_READ if n % 2 else AuditAction.STEP_COMPLETED,
        subject_type="application",
        subject_id=app,
        occurred_at=T0 + timedelta(minutes=n),
        department="local-admin",
        purpose="licensing review",
        fields=("business_name",) if n % 2 else (),
        details={"n": n},
    )


async def populate(container: Container) -> dict[tuple[str, int], int]:
    """Three chains of three entries, interleaved; returns (app, position) -> seq."""
    seqs: dict[tuple[str, int], int] = {}
    for n in range(1, 4):
        for app in APPS:
            async with container.uow() as uow:
                row = await append_audit(uow.session, record(app, n))
                await uow.commit()
                seqs[(app, n)] = row.seq
    return seqs


@pytest.fixture
def keyring(tmp_path: Path) -> Keyring:
    """Signing keys in a temporary directory."""
    return load_or_create_keyring(tmp_path / "keys", create=True)


async def seal(container: Container, keyring: Keyring) -> None:
    """Seal now."""
    assert await seal_now(container.uow(), FixedClock(T0 + timedelta(hours=1)), keyring)


async def run_sql(container: Container, *statements: str) -> None:
    """Tamper like someone with direct database access."""
    async with container.uow() as uow:
        for statement in statements:
            await uow.session.execute(text(statement))
        await uow.commit()


async def test_untouched_audit_verifies(container: Container, keyring: Keyring) -> None:
    async with container.uow() as uow:
        before = await verify_audit(uow.session, None)
    await populate(container)
    await seal(container, keyring)
    async with container.uow() as uow:
        report = await verify_audit(uow.session, keyring.public)
        compat = await verify_chain(uow.session)
    assert report.valid, report.problems
    assert (report.entries, report.chains) == (before.entries + 9, before.chains + 3)
    assert report.seals == 1
    assert compat.valid
    assert compat.entries == report.entries


async def _insert_in_middle(session: AsyncSession, seqs: dict[tuple[str, int], int]) -> int:
    for position in (3, 2):
        await session.execute(
            text(
                "UPDATE audit_entries SET position = position + 1"
                " WHERE chain = :c AND position = :p"
            ),
            {"c": "application:app-b", "p": position},
        )
    first = await session.scalar(
        select(AuditEntryRow).where(AuditEntryRow.seq == seqs[("app-b", 1)])
    )
    assert first is not None
    forged = record("app-b", 99)
    row = AuditEntryRow(
        chain="application:app-b", position=2, occurred_at=forged.occurred_at, actor=forged.actor,
        action=forged.action, subject_type="application", subject_id="app-b",
        department=forged.department, purpose=forged.purpose, fields=list(forged.fields),
        details=forged.details, prev_hash=first.hash, hash=chain_hash(first.hash, forged),
    )  # fmt: skip
    session.add(row)
    await session.flush()
    return row.seq


@pytest.mark.parametrize("attack", ["modify", "delete", "insert", "reorder"])
async def test_direct_tampering_names_the_entry(container: Container, attack: str) -> None:
    seqs = await populate(container)
    b2, b3 = seqs[("app-b", 2)], seqs[("app-b", 3)]
    expected: set[int | None]
    if attack == "modify":
        await run_sql(container, f"UPDATE audit_entries SET purpose = 'marketing' WHERE seq = {b2}")
        expected, kinds = {b2}, {"modified"}
    elif attack == "delete":
        await run_sql(container, f"DELETE FROM audit_entries WHERE seq = {b2}")
        expected, kinds = {b3}, {"deleted"}
    elif attack == "insert":
        async with container.uow() as uow:
            inserted = await _insert_in_middle(uow.session, seqs)
            await uow.commit()
        expected, kinds = {inserted}, {"inserted"}
    else:
        await run_sql(
            container,
            f"UPDATE audit_entries SET position = 99 WHERE seq = {b2}",
            f"UPDATE audit_entries SET position = 2 WHERE seq = {b3}",
            f"UPDATE audit_entries SET position = 3 WHERE seq = {b2}",
        )
        expected, kinds = {b2, b3}, {"reordered", "inserted"}
    async with container.uow() as uow:
        report = await verify_audit(uow.session, None)
        compat = await verify_chain(uow.session)
    assert not report.valid
    assert not compat.valid
    assert {p.chain for p in report.problems} == {"application:app-b"}, report.problems
    named = {p.seq for p in report.problems}
    assert named & expected, report.problems
    assert {p.kind for p in report.problems} <= kinds | {"modified", "deleted", "inserted"}
    assert any(p.kind in kinds for p in report.problems)
    if attack == "delete":
        assert any(p.position == 2 and "position 2" in p.message for p in report.problems)


TailAttack = Callable[[Container, dict[tuple[str, int], int]], Awaitable[None]]


async def _delete_tail(container: Container, seqs: dict[tuple[str, int], int]) -> None:
    await run_sql(container, f"DELETE FROM audit_entries WHERE seq = {seqs[('app-c', 3)]}")


async def _rewrite_chain(container: Container, seqs: dict[tuple[str, int], int]) -> None:
    """Change entry 2 and recompute every later hash: the chain alone looks fine."""
    async with container.uow() as uow:
        rows = list(
            await uow.session.scalars(
                select(AuditEntryRow)
                .where(AuditEntryRow.chain == "application:app-c")
                .order_by(AuditEntryRow.position)
            )
        )
        previous = rows[0].hash
        for row in rows[1:]:
            if row.position == 2:
                row.purpose = "marketing"
            row.hash = "x" * 64 if row.position == 2 else "y" * 64
        await uow.session.flush()
        for row in rows[1:]:
            from civicloom.audit import record_of

            row.prev_hash = previous
            row.hash = chain_hash(previous, record_of(row))
            previous = row.hash
        await uow.commit()


async def _delete_chain(container: Container, seqs: dict[tuple[str, int], int]) -> None:
    await run_sql(container, "DELETE FROM audit_entries WHERE chain = 'application:app-c'")


async def _forge_seal(container: Container, seqs: dict[tuple[str, int], int]) -> None:
    await run_sql(container, "UPDATE audit_seals SET up_to_seq = up_to_seq + 100")


@pytest.mark.parametrize(
    ("attack", "kind", "position"),
    [
        (_delete_tail, "deleted", 3),
        (_rewrite_chain, "modified", 3),
        (_delete_chain, "deleted", 3),
        (_forge_seal, "seal", None),
    ],
)
async def test_seals_catch_what_chains_cannot(
    container: Container, keyring: Keyring, attack: TailAttack, kind: str, position: int | None
) -> None:
    seqs = await populate(container)
    await seal(container, keyring)
    async with container.uow() as uow:
        assert (await verify_chain(uow.session)).valid
    await attack(container, seqs)
    async with container.uow() as uow:
        report = await verify_audit(uow.session, keyring.public)
    assert not report.valid
    matching = [p for p in report.problems if p.kind == kind]
    assert matching, report.problems
    if position is not None:
        assert any(p.chain == "application:app-c" and p.position == position for p in matching)


async def test_entries_after_a_seal_are_fine_and_seals_chain(
    container: Container, keyring: Keyring
) -> None:
    await populate(container)
    await seal(container, keyring)
    async with container.uow() as uow:
        await append_audit(uow.session, record("app-a", 4))
        await uow.commit()
    await seal(container, keyring)
    assert await seal_now(container.uow(), FixedClock(T0), keyring) is None  # nothing new
    async with container.uow() as uow:
        report = await verify_audit(uow.session, keyring.public)
    assert report.valid, report.problems
    assert report.seals == 2
