"""The catalogue validates a stored blueprint version once per process, not per request
(issue 23): a warm list of current services is one statement that reads no documents; a newly
published version (another content hash) is validated once and then served."""

from __future__ import annotations

from typing import Any

import pytest

from civicloom.catalogue import Blueprint, list_current_blueprints, publish_blueprint
from civicloom.runtime import Container
from tests.querycount import counting


async def _current(container: Container) -> dict[str, int]:
    async with container.uow() as uow:
        return {
            p.blueprint.id: p.blueprint.version for p in await list_current_blueprints(uow.session)
        }


async def test_a_warm_catalogue_reads_keys_only_and_validates_nothing(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = await _current(container)  # warms this process's validated versions
    validations: list[str] = []
    original = Blueprint.model_validate

    def counted(document: Any, **kwargs: Any) -> Blueprint:
        validations.append(str(document.get("id")))
        return original(document, **kwargs)

    monkeypatch.setattr(Blueprint, "model_validate", staticmethod(counted))
    with counting(container) as statements:
        assert await _current(container) == before
    assert len(statements) == 1
    assert "document" not in statements[0]
    assert validations == []

    async with container.uow() as uow:
        published = next(
            p.blueprint
            for p in await list_current_blueprints(uow.session)
            if p.blueprint.id == "change-of-business-address"
        )
        newer = published.model_copy(update={"version": published.version + 1})
        await publish_blueprint(uow.session, newer, container.clock.now(), actor="test")
        await uow.commit()
    with counting(container) as statements:
        after = await _current(container)
    assert after["change-of-business-address"] == before["change-of-business-address"] + 1
    assert len(statements) == 1  # publishing in this process validated the new version
    assert validations == ["change-of-business-address"]  # once, not per read
