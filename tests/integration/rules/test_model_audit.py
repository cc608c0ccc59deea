"""Publishing and retiring a decision model is audited with its actor; a refused publication
writes neither the model nor an entry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from civicloom.audit import subject_history
from civicloom.rules import (
    ModelStatus,
    ModelTestsFailed,
    load_model_file,
    publish_decision_model,
    retire_decision_model,
)
from civicloom.runtime import Container
from tests.unit.rules.helpers import as_draft_v2, copy_rules, fee_rows


async def model_entries(container: Container, key: str) -> list[tuple[Any, ...]]:
    """(actor, action, department, details) of a model's audit chain."""
    async with container.uow() as uow:
        rows = await subject_history(uow.session, "decision_model", key)
        return [(r.actor, r.action, r.department, r.details) for r in rows]


async def test_publishing_and_retiring_a_model_are_audited(
    container: Container, tmp_path: Path
) -> None:
    rules = copy_rules(tmp_path)
    v2 = as_draft_v2(rules, lambda _: None)
    now = container.clock.now()
    result = await publish_decision_model(container.uow(), v2, now, actor="cli:sam")
    assert result.newly_published
    again = await publish_decision_model(container.uow(), v2, now, actor="cli:sam")
    assert not again.newly_published  # unchanged: no second entry
    retired = await retire_decision_model(container.uow(), v2, now, actor="cli:priya")

    assert load_model_file(v2).metadata.status is ModelStatus.RETIRED
    seal = retired.metadata.content_hash
    assert seal is not None
    assert await model_entries(container, "local-admin/licence-fee") == [
        (
            "cli:sam",
            "decision_model.published",
            "local-admin",
            {"version": 2, "content_hash": seal},
        ),
        (
            "cli:priya",
            "decision_model.retired",
            "local-admin",
            {"version": 2, "content_hash": seal},
        ),
    ]


async def test_a_refused_publication_is_not_audited(container: Container, tmp_path: Path) -> None:
    rules = copy_rules(tmp_path)

    def wrong(doc: dict[str, Any]) -> None:
        fee_rows(doc)[1]["out_fee"] = "450"

    v2 = as_draft_v2(rules, wrong)
    with pytest.raises(ModelTestsFailed):
        await publish_decision_model(container.uow(), v2, container.clock.now(), actor="cli:sam")
    assert load_model_file(v2).metadata.status is ModelStatus.DRAFT
    assert await model_entries(container, "local-admin/licence-fee") == []
