"""Recorded decisions on SQLite and PostgreSQL: explain an application, replay a candidate."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from civicloom.rules import (
    RuleBook,
    list_decisions,
    load_model_file,
    record_decision,
    recorded_evaluations,
    replay,
)
from civicloom.rules.cli import app as rules_app
from civicloom.runtime import Container
from civicloom.settings import get_settings
from tests.unit.rules.helpers import DEMO_RULES, as_draft_v2, copy_rules, fee_rows

T0 = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)


async def _record_fees(container: Container, seats: list[int]) -> None:
    book = RuleBook.from_directory(DEMO_RULES)
    async with container.uow() as uow:
        for i, seating in enumerate(seats):
            decision = book.evaluate("local-admin/licence-fee", {"seating": seating})
            at = T0 + timedelta(minutes=i)
            await record_decision(uow.session, f"app-{i}", "fees", decision, at)
        await uow.commit()


async def test_a_recorded_decision_explains_itself(container: Container) -> None:
    await _record_fees(container, [40])
    async with container.uow() as uow:
        [recorded] = await list_decisions(uow.session, "app-0")
    assert recorded.output["fee"] == 400
    assert (recorded.model, recorded.version, recorded.purpose) == (
        "local-admin/licence-fee", 1, "fees",
    )  # fmt: skip
    assert recorded.input == {"seating": 40}
    assert recorded.rules[0]["rule_id"] == "small"
    assert "21 to 40 seats: small band" in recorded.explain()
    assert recorded.evaluated_at == T0


async def test_whatif_replays_a_candidate_over_recorded_inputs(
    container: Container, tmp_path: Path
) -> None:
    await _record_fees(container, [12, 25, 40, 90, 150])

    def cheaper_small(doc: dict[str, Any]) -> None:
        fee_rows(doc)[1]["out_fee"] = "350"

    candidate = load_model_file(as_draft_v2(copy_rules(tmp_path), cheaper_small))
    async with container.uow() as uow:
        records = await recorded_evaluations(uow.session, "local-admin/licence-fee")
    report = replay(candidate, records)
    assert (report.replayed, report.changed, report.unchanged) == (5, 2, 3)
    assert {e.input["seating"] for e in report.examples} == {25, 40}
    assert all(e.after == {"fee": 350, "band": "small", "currency": "EUR"} for e in report.examples)


async def test_whatif_command_reports_changes(
    container: Container, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _record_fees(container, [40, 90])

    def pricier_medium(doc: dict[str, Any]) -> None:
        fee_rows(doc)[2]["out_fee"] = "700"

    candidate = as_draft_v2(copy_rules(tmp_path), pricier_medium)
    monkeypatch.setenv("CIVICLOOM_DATABASE_URL", container.settings.effective_database_url)
    get_settings.cache_clear()
    try:
        # the command runs its own event loop, so not on the test's loop
        result = await asyncio.to_thread(
            CliRunner().invoke,
            rules_app,
            ["whatif", "local-admin/licence-fee", "--candidate", str(candidate)],
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "replayed 2 recorded outcome(s)" in result.output
    assert "1 changed" in result.output
    assert '"fee": 700' in result.output


def test_publish_command_refuses_a_failing_model(tmp_path: Path) -> None:
    rules = copy_rules(tmp_path)

    def wrong(doc: dict[str, Any]) -> None:
        fee_rows(doc)[1]["out_fee"] = "450"

    as_draft_v2(rules, wrong)
    runner = CliRunner()
    refused = runner.invoke(
        rules_app, ["publish", "local-admin/licence-fee@2", "--rules-dir", str(rules)]
    )
    assert refused.exit_code == 1
    assert "cannot be published" in refused.output
    assert "expected 400, got 450" in refused.output
    failing = runner.invoke(rules_app, ["test", "--rules-dir", str(rules)])
    assert failing.exit_code == 1
    assert "FAIL" in failing.output
    passing = runner.invoke(
        rules_app, ["test", "local-admin/licence-fee@1", "--rules-dir", str(rules)]
    )
    assert passing.exit_code == 0, passing.output
