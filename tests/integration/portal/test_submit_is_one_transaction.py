"""Sending a draft is one user action, so one transaction: all of it commits or none of it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from civicloom.applications.tables import ApplicationRow
from civicloom.departments import CAPABILITY_GATEWAY, CapabilityGateway
from civicloom.identity import ScopedPrincipal
from civicloom.outbox.tables import OutboxRow
from civicloom.portal import get_draft, save_answers, start_draft, submit_draft
from civicloom.portal import services as portal_services
from civicloom.runtime import Container
from tests.integration.backoffice.world import restaurant_data

ALICE = ScopedPrincipal(
    subject="alice",
    display_name="Alice Chen",
    roles=frozenset({"citizen", "business-representative"}),
    mandates=frozenset({"BR-2019-004211"}),
)


def gateway_of(container: Container) -> CapabilityGateway:
    """The container's gateway (the business register answers the representation check)."""
    return container.get(CAPABILITY_GATEWAY)


async def _counts(container: Container) -> tuple[int, int]:
    async with container.uow() as uow:
        apps = await uow.session.scalar(select(func.count()).select_from(ApplicationRow))
        events = await uow.session.scalar(select(func.count()).select_from(OutboxRow))
    return int(apps or 0), int(events or 0)


async def test_a_failure_after_the_application_is_stored_leaves_nothing_behind(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    draft = await start_draft(container.uow(), container.clock, ALICE, "open-a-restaurant")
    await save_answers(container.uow(), container.clock, ALICE, draft.id, restaurant_data())
    before = await _counts(container)

    async def disk_full(*_: Any, **__: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(portal_services, "link_data_use", disk_full)
    with pytest.raises(RuntimeError, match="disk full"):
        await submit_draft(
            container.uow, container.clock, ALICE, draft.id, gateway=gateway_of(container)
        )

    assert await _counts(container) == before  # no application, no outbox event
    assert (await get_draft(container.uow(), ALICE, draft.id)).application_id is None

    monkeypatch.undo()
    view = await submit_draft(
        container.uow, container.clock, ALICE, draft.id, gateway=gateway_of(container)
    )
    after = await _counts(container)
    assert after[0] == before[0] + 1
    assert (await get_draft(container.uow(), ALICE, draft.id)).application_id == view.id
    again = await submit_draft(
        container.uow, container.clock, ALICE, draft.id, gateway=gateway_of(container)
    )
    assert again.id == view.id  # a second click returns the first application
    assert await _counts(container) == after
