"""Publishing refuses a blueprint whose data is not all declared (ADR 0050), on SQLite and
PostgreSQL: the error names each field and rule, and nothing is stored or audited."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from civicloom.audit.tables import AuditEntryRow
from civicloom.catalogue import load_blueprints, publish_service_version
from civicloom.catalogue.tables import BlueprintVersionRow
from civicloom.kernel import FieldError, ValidationFailed
from civicloom.runtime import Container


async def counts(container: Container) -> tuple[int, int]:
    async with container.uow() as uow:
        versions = await uow.session.scalar(select(func.count()).select_from(BlueprintVersionRow))
        entries = await uow.session.scalar(select(func.count()).select_from(AuditEntryRow))
    return int(versions or 0), int(entries or 0)


async def test_publishing_a_field_without_an_owner_fails(container: Container) -> None:
    current = next(
        b for b in load_blueprints(container.settings.blueprints_dir) if b.id == "open-a-restaurant"
    )
    document = current.document()
    del document["form"]["schema"]["properties"]["cuisine"]["x-owner"]
    document["documents"][0]["owner"] = "ministry-of-magic"
    document["version"] = current.version + 1
    unowned = type(current).model_validate(document)
    before = await counts(container)
    with pytest.raises(ValidationFailed) as refused:
        await publish_service_version(container.uow(), container.clock, unowned, actor="cli:sam")
    assert refused.value.errors == [
        FieldError(
            "form.schema.properties.cuisine.x-owner",
            "owner-required",
            "field 'cuisine' declares no owner department (x-owner)",
        ),
        FieldError(
            "documents[0].owner",
            "unknown-department",
            "document type 'floor_plan': no department 'ministry-of-magic'",
        ),
    ]
    assert await counts(container) == before  # no version, no audit entry

    published, created = await publish_service_version(
        container.uow(),
        container.clock,
        current.model_copy(update={"version": current.version + 1}),
        actor="cli:sam",
    )
    assert created  # the same version with every field declared publishes
    assert published.blueprint.version == current.version + 1
