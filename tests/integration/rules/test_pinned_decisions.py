"""Decision models are resolved by the application's submission date (or the step's decision
date where the blueprint says so), from the container's rule book and clock (ADR 0039)."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from civicloom.applications import StepRunner
from civicloom.catalogue import Blueprint, publish_blueprint
from civicloom.kernel import FixedClock, canonical_json, sha256_hex
from civicloom.rules import DecisionModel, list_decisions, load_model_file
from civicloom.runtime import Container
from tests.integration.engine.conftest import Departments, Engine, engine_blueprint
from tests.unit.rules.helpers import fee_rows
from tests.wiring import reconfigure

SUBMITTED = datetime(2026, 12, 30, 9, 0, tzinfo=UTC)  # Wednesday, before the new fee table
EVALUATED = datetime(2027, 1, 5, 9, 0, tzinfo=UTC)  # Tuesday, after it took effect


def _fee_book(container: Container, tmp_path: Path) -> tuple[DecisionModel, DecisionModel]:
    """The deployment's rule book gets licence-fee v2, published and in effect from
    1 January 2027, charging 999 for every band (v1 charges 400 for 40 seats)."""
    blueprints = tmp_path / "blueprints"
    shutil.copytree(container.settings.blueprints_dir, blueprints)
    folder = blueprints / "rules" / "local-admin" / "licence-fee"
    doc = json.loads((folder / "v1.json").read_text(encoding="utf-8"))
    for row in fee_rows(doc):
        row["out_fee"] = "999"
    content = {k: v for k, v in doc.items() if k != "metadata"}
    doc["metadata"] = {
        "version": 2,
        "status": "published",
        "valid_from": "2027-01-01",
        "content_hash": sha256_hex(canonical_json(content)),
        "published_at": "2026-12-01T09:00:00Z",
    }
    (folder / "v2.json").write_text(json.dumps(doc, indent=2), encoding="utf-8")
    shutil.copy(folder / "v1.tests.yaml", folder / "v2.tests.yaml")
    reconfigure(container, container.settings.model_copy(update={"blueprints_dir": blueprints}))
    v1 = load_model_file(folder / "v1.json")
    v2 = load_model_file(folder / "v2.json")
    return v1, v2


def _with_fee_step(version: int, on: str | None) -> Blueprint:
    """The engine-test service whose tax step also decides the licence fee."""
    blueprint = engine_blueprint(version=version)
    doc = blueprint.model_dump(mode="json", by_alias=True, exclude_unset=True)
    decision: dict[str, Any] = {
        "model": "local-admin/licence-fee",
        "input": {"seating": "$.data.seating"},
    }
    if on is not None:
        decision["on"] = on
    doc["fees"] = {"model": "local-admin/licence-fee", "input": {"seating": "$.data.seating"}}
    for step in doc["steps"]:
        if step["id"] == "tax":
            step["decision"] = decision
    return Blueprint.model_validate(doc)


async def _engine(container: Container, blueprint: Blueprint) -> Engine:
    clock = FixedClock(SUBMITTED)
    container.clock = clock
    departments = Departments()
    engine = Engine(container, clock, departments, StepRunner(container, departments.gateway()))
    async with container.uow() as uow:
        await publish_blueprint(uow.session, blueprint, clock.now(), actor="test:setup")
        await uow.commit()
    return engine


async def _decisions(container: Container, app_id: str) -> dict[str, tuple[int, str, Any]]:
    async with container.uow() as uow:
        recorded = await list_decisions(uow.session, app_id)
    return {d.purpose: (d.version, d.content_hash, d.output["fee"]) for d in recorded}


async def test_a_model_version_in_effect_after_submission_is_not_used(
    container: Container, tmp_path: Path
) -> None:
    v1, _ = _fee_book(container, tmp_path)
    engine = await _engine(container, _with_fee_step(1, None))
    app_id = await engine.submit(seating=40)
    engine.clock.advance(EVALUATED - SUBMITTED)  # the tax step answers on 5 January 2027
    await engine.drain()
    decisions = await _decisions(container, app_id)
    # Submitted on 30 December 2026: v1 decides both, though v2 was in effect on 5 January.
    assert decisions == {
        "fees": (1, v1.content_hash(), 400),
        "tax": (1, v1.content_hash(), 400),
    }


async def test_a_step_that_decides_on_its_own_date_uses_the_version_then_in_effect(
    container: Container, tmp_path: Path
) -> None:
    v1, v2 = _fee_book(container, tmp_path)
    engine = await _engine(container, _with_fee_step(1, "decision"))
    app_id = await engine.submit(seating=40)
    engine.clock.advance(timedelta(days=6))  # 5 January 2027
    await engine.drain()
    decisions = await _decisions(container, app_id)
    assert decisions == {
        "fees": (1, v1.content_hash(), 400),  # at submission: v1
        "tax": (2, v2.content_hash(), 999),  # the blueprint says: the decision's date
    }
