"""The audit seal never blocks audited requests (issue 23): on PostgreSQL, with two
connections, an entry is appended and committed while a seal is being computed, a seal
started while an appender's transaction is open neither waits for it nor makes it wait, and a
backlog is sealed in bounded batches; every chain and seal still verifies."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from civicloom.audit import (
    AuditAction,
    AuditRecord,
    Keyring,
    append_audit,
    load_or_create_keyring,
    seal_audit,
    seal_now,
    verify_audit,
)
from civicloom.audit.seals import sealable_up_to
from civicloom.audit.tables import AuditEntryRow, AuditSealRow
from civicloom.kernel import FixedClock
from civicloom.runtime import Container

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
CLOCK = FixedClock(T0 + timedelta(hours=1))
WITHIN = 10.0  # seconds: an append that waits on the seal would hang far longer (the test fails)


@pytest.fixture
def backend() -> str:
    """Advisory locks and sequence numbers handed out before commit are PostgreSQL's."""
    return "postgresql"


@pytest.fixture
def keyring(tmp_path: Path) -> Keyring:
    return load_or_create_keyring(tmp_path / "keys", create=True)


def record(app: str, n: int) -> AuditRecord:
    return AuditRecord(
        actor="dev-login:olivia",
        action=AuditAction.APPLICATION_READ,
        subject_type="application",
        subject_id=app,
        occurred_at=T0 + timedelta(minutes=n),
        department="local-admin",
        purpose="licensing review",
        fields=("business_name",),
        details={"n": n},
    )


async def sealed_demo(container: Container, keyring: Keyring) -> int:
    """Seal what loading the demo audited (seal 1); returns its last sequence number."""
    first = await seal_now(container.uow(), CLOCK, keyring)
    assert first is not None
    assert first.id == 1
    return first.up_to_seq


async def append(container: Container, app: str, n: int) -> int:
    async with container.uow() as uow:
        row = await append_audit(uow.session, record(app, n))
        await uow.commit()
        return row.seq


async def test_an_append_commits_while_a_seal_is_being_computed(
    container: Container, keyring: Keyring
) -> None:
    base = await sealed_demo(container, keyring)
    for n in range(1, 4):
        await append(container, "app-a", n)
    up_to = await sealable_up_to(container.uow())
    assert up_to == base + 3
    async with container.uow() as sealing:  # connection 1: the seal, not yet committed
        seal = await seal_audit(sealing.session, CLOCK.now(), keyring, up_to)
        assert seal is not None
        assert seal.heads == [["application:app-a", 3, seal.heads[0][2]]]
        # connection 2: an audited request appends to the same chain meanwhile
        seq = await asyncio.wait_for(append(container, "app-a", 4), WITHIN)
        await sealing.commit()
    assert seq == base + 4
    second = await seal_now(container.uow(), CLOCK, keyring)
    assert second is not None
    assert (second.id, second.up_to_seq) == (3, base + 4)
    assert second.heads == [["application:app-a", 4, second.heads[0][2]]]
    async with container.uow() as uow:
        report = await verify_audit(uow.session, keyring.public)
    assert report.valid, report.problems
    assert (report.seals, report.entries) == (3, base + 4)


async def test_a_seal_neither_waits_for_nor_holds_up_an_open_append(
    container: Container, keyring: Keyring
) -> None:
    base = await sealed_demo(container, keyring)
    await append(container, "app-a", 1)
    async with container.uow() as appending:  # an audited request in flight: lock held shared
        await append_audit(appending.session, record("app-b", 1))
        await appending.session.flush()  # its entry has a sequence number, uncommitted
        # The barrier cannot be had without waiting on it: the seal gives up this run.
        assert await asyncio.wait_for(sealable_up_to(container.uow()), WITHIN) is None
        # ... and other audited requests were never held up by it
        assert await asyncio.wait_for(append(container, "app-c", 1), WITHIN) == base + 3
        await appending.commit()
    sealed = await seal_now(container.uow(), CLOCK, keyring)
    assert sealed is not None
    assert (sealed.id, sealed.up_to_seq) == (2, base + 3)
    assert [h[:2] for h in sealed.heads] == [
        ["application:app-a", 1],
        ["application:app-b", 1],
        ["application:app-c", 1],
    ]
    async with container.uow() as uow:
        report = await verify_audit(uow.session, keyring.public)
    assert report.valid, report.problems


async def test_a_backlog_is_sealed_in_bounded_batches(
    container: Container, keyring: Keyring
) -> None:
    base = await sealed_demo(container, keyring)
    for n in range(1, 6):
        for app in ("app-a", "app-b"):
            await append(container, app, n)
    last = await seal_now(container.uow(), CLOCK, keyring, batch=4)
    assert last is not None
    assert (last.id, last.up_to_seq) == (4, base + 10)
    async with container.uow() as uow:
        seals = list(
            await uow.session.scalars(
                select(AuditSealRow).where(AuditSealRow.id > 1).order_by(AuditSealRow.id)
            )
        )
        assert [(s.up_to_seq - base, [h[:2] for h in s.heads]) for s in seals] == [
            (4, [["application:app-a", 2], ["application:app-b", 2]]),
            (8, [["application:app-a", 4], ["application:app-b", 4]]),
            (10, [["application:app-a", 5], ["application:app-b", 5]]),
        ]
        assert await uow.session.scalar(select(func.count(AuditEntryRow.seq))) == base + 10
        report = await verify_audit(uow.session, keyring.public)
    assert report.valid, report.problems
    assert report.seals == 4
    assert await seal_now(container.uow(), CLOCK, keyring) is None  # nothing new
