"""Audit entries and outbox messages queued in a transaction (``civicloom.db.pending``, ADR
0067): written with one statement per table, in order, never by a transaction that rolls
back, seen by ORM queries of the same transaction, and the chains they extend verify."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from civicloom.applications.case import AuditNote, EventNote, record_case_change
from civicloom.audit import AuditAction, AuditRecord, append_audit, lock_chains, verify_chain
from civicloom.audit.tables import AuditEntryRow
from civicloom.db import pending_count
from civicloom.outbox import EventType
from civicloom.outbox.tables import OutboxRow
from civicloom.runtime import Container

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Case:
    id: str
    reference: str


CASE = Case("queued-app-1", "QUE-0001")


def note(n: int) -> AuditNote:
    return AuditNote("system:case-engine", AuditAction.STEP_COMPLETED, "tax", {"n": n})


async def entries(container: Container, chain: str) -> list[tuple[int, int, str]]:
    async with container.uow() as uow:
        rows = await uow.session.execute(
            select(AuditEntryRow.seq, AuditEntryRow.position, AuditEntryRow.action)
            .where(AuditEntryRow.chain == chain)
            .order_by(AuditEntryRow.seq)
        )
        return [(r.seq, r.position, r.action) for r in rows]


async def outbox_keys(container: Container) -> list[str]:
    async with container.uow() as uow:
        keys = await uow.session.scalars(
            select(OutboxRow.key).where(OutboxRow.key.startswith("queued:")).order_by(OutboxRow.id)
        )
        return list(keys)


async def test_queued_and_appended_entries_follow_one_another(container: Container) -> None:
    """Entries queued, then one appended the ORM way, then queued again, in one transaction:
    positions 1-5 in that order, sequence numbers in the same order, and the chain verifies."""
    async with container.uow() as uow:
        for n in (1, 2):
            await record_case_change(uow.session, CASE, T0 + timedelta(seconds=n), audit=note(n))
        assert pending_count(uow.session.sync_session) == 2
        await append_audit(
            uow.session,
            AuditRecord(
                actor="dev-login:olivia",
                action=AuditAction.APPLICATION_READ,
                subject_type="application",
                subject_id=CASE.id,
                occurred_at=T0 + timedelta(seconds=3),
                department="local-admin",
                purpose="licensing review",
                fields=("business_name",),
                details={},
            ),
        )
        assert pending_count(uow.session.sync_session) == 0  # written before the ORM row
        for n in (4, 5):
            await record_case_change(uow.session, CASE, T0 + timedelta(seconds=n), audit=note(n))
        # an ORM query in the same transaction sees every entry, as it saw pending objects
        seen = await uow.session.scalar(
            select(func.count()).where(AuditEntryRow.chain == f"application:{CASE.id}")
        )
        assert seen == 5
        await uow.commit()
    rows = await entries(container, f"application:{CASE.id}")
    assert [(position, action) for _, position, action in rows] == [
        (1, "step.completed"),
        (2, "step.completed"),
        (3, "application.read"),
        (4, "step.completed"),
        (5, "step.completed"),
    ]
    assert [seq for seq, _, _ in rows] == sorted(seq for seq, _, _ in rows)
    async with container.uow() as uow:
        report = await verify_chain(uow.session)
    assert report.valid, report.first_bad_seq


async def test_a_rolled_back_transaction_writes_nothing_it_queued(container: Container) -> None:
    async with container.uow() as uow:
        await record_case_change(
            uow.session,
            CASE,
            T0,
            audit=note(1),
            event=EventNote(EventType.APPLICATION_APPROVED, {}, key="queued:rolled-back"),
        )
        assert pending_count(uow.session.sync_session) == 2
        # no commit: the unit of work rolls back
    async with container.uow() as uow:
        assert pending_count(uow.session.sync_session) == 0
        await record_case_change(uow.session, CASE, T0, audit=note(1))
        await uow.commit()
    assert await outbox_keys(container) == []
    rows = await entries(container, f"application:{CASE.id}")
    assert [position for _, position, _ in rows] == [1]  # the rolled-back entry took no place


async def test_events_keep_their_order_and_a_repeated_key_stays_one_row(
    container: Container,
) -> None:
    async with container.uow() as uow:
        for key in ("queued:b", "queued:a", "queued:b", "queued:c"):
            await record_case_change(
                uow.session, CASE, T0, event=EventNote(EventType.APPLICATION_APPROVED, {}, key=key)
            )
        await uow.commit()
    async with container.uow() as uow:  # again in a later transaction: still one row a key
        await record_case_change(
            uow.session,
            CASE,
            T0,
            event=EventNote(EventType.APPLICATION_APPROVED, {}, key="queued:a"),
        )
        await uow.commit()
    assert await outbox_keys(container) == ["queued:b", "queued:a", "queued:c"]


async def test_chains_locked_together_go_on_from_their_heads(container: Container) -> None:
    """``lock_chains`` reads several heads at once (a chain with entries, one without): the
    entries queued after it go on from each head, and the chains verify."""
    other = Case("queued-app-2", "QUE-0002")
    async with container.uow() as uow:
        await record_case_change(uow.session, CASE, T0, audit=note(1))
        await uow.commit()
    async with container.uow() as uow:
        await lock_chains(uow.session, [f"application:{CASE.id}", f"application:{other.id}"])
        for n in (2, 3):
            await record_case_change(uow.session, CASE, T0, audit=note(n))
            await record_case_change(uow.session, other, T0, audit=note(n))
        await uow.commit()
    assert [p for _, p, _ in await entries(container, f"application:{CASE.id}")] == [1, 2, 3]
    assert [p for _, p, _ in await entries(container, f"application:{other.id}")] == [1, 2]
    async with container.uow() as uow:
        report = await verify_chain(uow.session)
    assert report.valid, report.first_bad_seq
