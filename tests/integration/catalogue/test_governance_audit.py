"""Publishing and retiring a blueprint is audited with its actor, in the same transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from civicloom.audit import subject_history
from civicloom.catalogue import (
    Blueprint,
    load_blueprints,
    publish_blueprint,
    retire_blueprint,
)
from civicloom.catalogue.tables import BlueprintVersionRow
from civicloom.runtime import Container


async def blueprint_entries(container: Container, version_id: str) -> list[tuple[Any, ...]]:
    """(actor, action, department, details) of a blueprint version's audit chain."""
    async with container.uow() as uow:
        rows = await subject_history(uow.session, "blueprint", version_id)
        return [(r.actor, r.action, r.department, r.details) for r in rows]


def next_version(container: Container) -> Blueprint:
    """Change of business address, one version up."""
    current = next(
        b
        for b in load_blueprints(container.settings.blueprints_dir)
        if b.id == "change-of-business-address"
    )
    return current.model_copy(update={"version": 4})


async def test_publishing_and_retiring_are_audited_with_the_actor(container: Container) -> None:
    blueprint = next_version(container)
    now = container.clock.now()
    async with container.uow() as uow:
        published, created = await publish_blueprint(uow.session, blueprint, now, actor="cli:sam")
        await uow.commit()
    assert created
    async with container.uow() as uow:  # republishing unchanged content changes nothing
        _, again = await publish_blueprint(uow.session, blueprint, now, actor="cli:sam")
        await uow.commit()
    assert not again
    async with container.uow() as uow:
        await retire_blueprint(uow.session, "change-of-business-address", 4, now, actor="cli:priya")
        await uow.commit()

    assert await blueprint_entries(container, published.version_id) == [
        (
            "cli:sam",
            "blueprint.published",
            "local-admin",
            {
                "service": "change-of-business-address",
                "version": 4,
                "content_hash": published.content_hash,
            },
        ),
        (
            "cli:priya",
            "blueprint.retired",
            "local-admin",
            {
                "service": "change-of-business-address",
                "version": 4,
                "content_hash": published.content_hash,
            },
        ),
    ]


async def test_a_publication_rolled_back_leaves_no_entry(container: Container) -> None:
    async with container.uow() as uow:
        published, _ = await publish_blueprint(
            uow.session, next_version(container), container.clock.now(), actor="cli:sam"
        )
        pass  # leaving the unit of work without commit rolls it back
    async with container.uow() as uow:
        stored = await uow.session.scalar(
            select(func.count())
            .select_from(BlueprintVersionRow)
            .where(BlueprintVersionRow.id == published.version_id)
        )
    assert stored == 0
    assert await blueprint_entries(container, published.version_id) == []
