"""Decision models: evaluation with traces, effective dates, tests, publishing, what-if."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from civicloom.kernel import Conflict, NotFound, ValidationFailed
from civicloom.rules import (
    ModelRef,
    ModelStatus,
    ModelTestsFailed,
    RecordedDecision,
    RuleBook,
    load_model_file,
    publish_model,
    replay,
    run_tests,
)
from tests.unit.rules.helpers import DEMO_RULES, as_draft_v2, copy_rules, edit_json, fee_rows

NOW = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def book() -> RuleBook:
    """The demo rule book."""
    return RuleBook.from_directory(DEMO_RULES)


def test_model_ref_parsing() -> None:
    assert ModelRef.parse("local-admin/licence-fee") == ModelRef("local-admin", "licence-fee")
    assert ModelRef.parse("labour/review-threshold@3").version == 3
    assert str(ModelRef.parse("labour/review-threshold@3")) == "labour/review-threshold@3"
    with pytest.raises(ValueError, match="not a model reference"):
        ModelRef.parse("licence-fee")


def test_every_demo_model_is_published_and_passes_its_tests(book: RuleBook) -> None:
    assert book.keys() == [
        "environment/inspection-routing",
        "labour/review-threshold",
        "local-admin/licence-fee",
        "local-admin/zoning-eligibility",
    ]
    for model in book.all_models():
        assert model.metadata.status is ModelStatus.PUBLISHED, model.ref
        report = run_tests(model)
        assert report.passed, (model.ref, report.failures, report.problems)


def test_fee_decision_explains_why_the_fee_is_400(book: RuleBook) -> None:
    decision = book.evaluate("local-admin/licence-fee", {"seating": 40}, on=date(2027, 1, 5))
    assert decision.output == {"fee": 400, "band": "small", "currency": "EUR"}
    assert decision.version == 1
    assert len(decision.content_hash) == 64
    assert [(r.node_id, r.rule_id) for r in decision.rules] == [("fee-table", "small")]
    assert "21 to 40 seats" in decision.explain()
    assert decision.department == "local-admin"


def test_routing_and_threshold_models(book: RuleBook) -> None:
    route = book.evaluate(
        "environment/inspection-routing",
        {"screening_outcome": "cleared", "seating": 80, "grease_trap": True},
    )
    assert route.output["inspection_required"] is True
    assert route.rules[0].description == "More than 50 seats always needs an inspection"
    assert book.evaluate("labour/review-threshold", {"staff_count": 11}).output == {
        "review_required": True,
        "reason": "staff-over-10",
    }


def test_unknown_model_or_version_or_date_is_not_found(book: RuleBook) -> None:
    with pytest.raises(NotFound, match="no decision model"):
        book.evaluate("tax/nothing", {})
    with pytest.raises(NotFound, match="no version 9"):
        book.evaluate("labour/review-threshold@9", {})
    with pytest.raises(NotFound, match="in effect on 2020-01-01"):
        book.evaluate("labour/review-threshold", {"staff_count": 1}, on=date(2020, 1, 1))


def test_effective_dates_choose_the_version(tmp_path: Path) -> None:
    rules = copy_rules(tmp_path)

    def cheaper(doc: dict[str, Any]) -> None:
        fee_rows(doc)[1]["out_fee"] = "350"

    v2 = as_draft_v2(rules, cheaper)
    v2.with_name("v2.tests.yaml").write_text(
        "cases:\n  - name: small band is 350 from 2027\n    input: {seating: 40}\n"
        "    expect: {fee: 350}\n",
        encoding="utf-8",
    )
    # v1 ends when v2 starts
    edit_json(
        rules / "local-admin/licence-fee/v1.json",
        lambda d: d["metadata"].update(valid_to="2027-01-01"),
    )
    assert publish_model(v2, NOW).newly_published
    book = RuleBook.from_directory(rules)
    assert (
        book.evaluate("local-admin/licence-fee", {"seating": 40}, on=date(2026, 12, 31)).output[
            "fee"
        ]
        == 400
    )
    later = book.evaluate("local-admin/licence-fee", {"seating": 40}, on=date(2027, 1, 1))
    assert (later.output["fee"], later.version) == (350, 2)


def test_a_failing_test_case_refuses_publication(tmp_path: Path) -> None:
    rules = copy_rules(tmp_path)

    def wrong(doc: dict[str, Any]) -> None:
        fee_rows(doc)[1]["out_fee"] = "450"

    v2 = as_draft_v2(rules, wrong)
    with pytest.raises(ModelTestsFailed) as refused:
        publish_model(v2, NOW)
    messages = [e.message for e in refused.value.errors]
    assert any("Golden Dragon" in m and "fee: expected 400, got 450" in m for m in messages)
    assert all(e.rule == "test-case" for e in refused.value.errors)
    assert load_model_file(v2).metadata.status is ModelStatus.DRAFT  # nothing was written


def test_a_model_without_tests_cannot_be_published(tmp_path: Path) -> None:
    rules = copy_rules(tmp_path)
    v2 = as_draft_v2(rules, lambda _: None)
    v2.with_name("v2.tests.yaml").unlink()
    with pytest.raises(ModelTestsFailed, match="cannot be published"):
        publish_model(v2, NOW)


def test_published_versions_are_sealed(tmp_path: Path) -> None:
    rules = copy_rules(tmp_path)
    v1 = rules / "local-admin/licence-fee/v1.json"
    edit_json(v1, lambda d: fee_rows(d)[0].update(out_fee="1"))
    with pytest.raises(ValidationFailed) as broken:
        RuleBook.from_directory(rules)
    assert broken.value.errors[0].rule == "published-immutable"
    assert broken.value.errors[0].field.endswith("v1.json:metadata.content_hash")


def test_a_broken_jdm_document_is_reported_not_crashed(tmp_path: Path) -> None:
    rules = copy_rules(tmp_path)
    v2 = as_draft_v2(rules, lambda d: d["nodes"][1].pop("name"))
    report = run_tests(load_model_file(v2))
    assert not report.passed
    assert "missing field `name`" in report.problems[0]
    assert "backtrace" not in report.problems[0]


def test_retired_versions_cannot_be_republished(tmp_path: Path) -> None:
    from civicloom.rules import retire_model

    rules = copy_rules(tmp_path)
    v1 = rules / "labour/review-threshold/v1.json"
    assert retire_model(v1).metadata.status is ModelStatus.RETIRED
    with pytest.raises(Conflict, match="retired"):
        publish_model(v1, NOW)


def _record(app: str, seating: int, output: dict[str, Any]) -> RecordedDecision:
    return RecordedDecision(
        id=app, application_id=app, purpose="fees", model="local-admin/licence-fee", version=1,
        content_hash="x", input={"seating": seating}, output=output, rules=[], evaluated_at=NOW,
    )  # fmt: skip


def test_whatif_counts_changed_outcomes_with_examples(tmp_path: Path) -> None:
    rules = copy_rules(tmp_path)

    def cheaper_small(doc: dict[str, Any]) -> None:
        fee_rows(doc)[1]["out_fee"] = "350"

    candidate = load_model_file(as_draft_v2(rules, cheaper_small))
    records = [
        _record("a", 40, {"fee": 400}),
        _record("b", 30, {"fee": 400, "band": "small"}),
        _record("c", 10, {"fee": 150, "band": "micro"}),
    ]
    report = replay(candidate, records, max_examples=1)
    assert (report.replayed, report.changed, report.unchanged, report.errors) == (3, 2, 1, 0)
    assert len(report.examples) == 1
    assert report.examples[0].application_id == "a"
    assert (report.examples[0].before, report.examples[0].after) == ({"fee": 400}, {"fee": 350})
    assert report.transitions == {
        '{"fee":400} → {"fee":350}': 1,
        '{"band":"small","fee":400} → {"band":"small","fee":350}': 1,
    }
