"""Blueprint lifecycle on SQLite and PostgreSQL: published versions are immutable, retiring
stops new applications but keeps the version readable."""

from __future__ import annotations

import pytest

from civicloom.catalogue import (
    BlueprintStatus,
    get_blueprint_version,
    get_current_blueprint,
    list_current_blueprints,
    load_blueprints,
    publish_blueprint,
    retire_blueprint,
    step_graph,
)
from civicloom.kernel import Conflict, NotFound
from civicloom.runtime import Container


async def test_demo_blueprints_are_published_with_their_step_graph(container: Container) -> None:
    async with container.uow() as uow:
        current = {p.blueprint.id: p for p in await list_current_blueprints(uow.session)}
    assert set(current) == {"open-a-restaurant", "change-of-business-address"}
    restaurant = current["open-a-restaurant"]
    assert restaurant.status is BlueprintStatus.PUBLISHED
    assert restaurant.content_hash == restaurant.blueprint.content_hash()
    # the stored document keeps the steps: the engine reads the graph from it
    assert step_graph(restaurant.blueprint).roots() == [
        "business", "zoning", "tax", "screening", "employer",
    ]  # fmt: skip


async def test_published_versions_are_immutable_and_retirable(container: Container) -> None:
    blueprint = next(
        b for b in load_blueprints(container.settings.blueprints_dir) if b.id == "open-a-restaurant"
    )
    changed = blueprint.model_copy(update={"legal_basis": "Another Act"})
    now = container.clock.now()
    async with container.uow() as uow:
        _, created = await publish_blueprint(uow.session, blueprint, now, actor="cli:sam")
        assert not created  # same content: a no-op
        with pytest.raises(Conflict, match="immutable"):
            await publish_blueprint(uow.session, changed, now, actor="cli:sam")
    async with container.uow() as uow:
        retired = await retire_blueprint(
            uow.session, "open-a-restaurant", blueprint.version, now, actor="cli:sam"
        )
        await uow.commit()
    assert retired.status is BlueprintStatus.RETIRED
    async with container.uow() as uow:
        assert await get_current_blueprint(uow.session, "open-a-restaurant") is None
        pinned = await get_blueprint_version(uow.session, retired.version_id)
        assert pinned is not None
        assert pinned.blueprint.version == blueprint.version
        with pytest.raises(Conflict, match="only published versions retire"):
            await retire_blueprint(
                uow.session, "open-a-restaurant", blueprint.version, now, actor="cli:sam"
            )
        with pytest.raises(NotFound):
            await retire_blueprint(uow.session, "open-a-restaurant", 9, now, actor="cli:sam")
