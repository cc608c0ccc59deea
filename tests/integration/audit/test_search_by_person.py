"""Audit search by person (issue 23): an exact, indexed match on who acted, whatever the sign-in
channel's prefix, instead of ``actor LIKE '%:x'`` that walks every entry backwards.

The entries and the expected answers are written by hand.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from civicloom.audit import AuditAction, AuditFilter, AuditRecord, append_audit, search_entries
from civicloom.runtime import Container

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ACTORS = [
    "dev-login:alice",  # the same person through two channels
    "oidc-citizen:alice",
    "oidc-citizen:malice",  # another person whose id ends with hers
    "oidc-citizen:urn:x:alice",  # a subject that itself holds colons
    "alice",  # an actor without a channel prefix
    "system:case-engine",
]


async def populate(container: Container) -> None:
    for n, actor in enumerate(ACTORS):
        async with container.uow() as uow:
            await append_audit(
                uow.session,
                AuditRecord(
                    actor=actor,
                    action=AuditAction.APPLICATION_READ,
                    subject_type="application",
                    subject_id=f"app-{n}",
                    occurred_at=T0 + timedelta(minutes=n),
                ),
            )
            await uow.commit()


async def actors_found(container: Container, who: str) -> list[str]:
    async with container.uow() as uow:
        found = await search_entries(uow.session, AuditFilter(actor=who), limit=50)
    return sorted(r.actor for r in found)


async def test_search_by_actor_matches_the_person_on_every_channel_and_nobody_else(
    container: Container,
) -> None:
    await populate(container)
    assert await actors_found(container, "alice") == [
        "alice",
        "dev-login:alice",
        "oidc-citizen:alice",
    ]
    assert await actors_found(container, "urn:x:alice") == ["oidc-citizen:urn:x:alice"]
    assert await actors_found(container, "case-engine") == ["system:case-engine"]
    assert await actors_found(container, "lice") == []


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_the_person_search_uses_an_index_on_postgresql(container: Container) -> None:
    await populate(container)
    async with container.uow() as uow:
        await uow.session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(
            str(r[0])
            for r in await uow.session.execute(
                text(
                    "EXPLAIN SELECT * FROM audit_entries WHERE actor_subject = 'alice' "
                    "ORDER BY occurred_at DESC LIMIT 50"
                )
            )
        )
    assert "ix_audit_entries_actor_subject" in plan
