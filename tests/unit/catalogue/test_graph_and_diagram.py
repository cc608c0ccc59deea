"""Step graph queries for the engine, diagrams, the published schema and calendars."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from xml.etree import ElementTree

import jsonschema
import yaml

from civicloom.catalogue import (
    Blueprint,
    blueprint_json_schema,
    load_blueprint_file,
    load_calendar,
    mermaid,
    step_graph,
    svg,
)

ROOT = Path(__file__).resolve().parents[3] / "blueprints"
RESTAURANT = ROOT / "services" / "open-a-restaurant" / "blueprint.yaml"


def spec() -> Blueprint:
    """The restaurant blueprint, typed."""
    return Blueprint.model_validate(yaml.safe_load(RESTAURANT.read_text(encoding="utf-8")))


def test_four_departments_start_in_parallel_and_join_before_licensing() -> None:
    graph = step_graph(load_blueprint_file(RESTAURANT))
    assert graph.roots() == ["business", "zoning", "tax", "screening", "employer"]
    assert graph.ready_steps(finished=[]) == graph.roots()
    started = ["business", "zoning", "tax", "screening", "employer"]
    assert graph.ready_steps(finished=["screening"], started=started) == ["inspection"]
    almost = ["business", "zoning", "tax", "screening", "employer", "inspection"]
    assert "licensing_review" not in graph.ready_steps(finished=almost)
    # a skipped branch (when false) counts as finished, so the join proceeds
    assert graph.ready_steps(finished=[*almost, "labour_review"], started=almost) == [
        "licensing_review"
    ]
    assert graph.dependencies["licensing_review"] == frozenset(
        {"business", "zoning", "tax", "inspection", "labour_review"}
    )
    assert graph.dependents["payment"] == frozenset({"register_activity"})
    assert graph.leaves() == ["licence"]
    assert graph.cycles() == []
    assert graph.steps["zoning"].decision is not None
    assert graph.steps["zoning"].decision.model == "local-admin/zoning-eligibility"
    assert graph.steps["screening"].retry is not None
    assert graph.steps["screening"].retry.max_attempts == 10
    assert graph.ancestors("payment") >= {"licensing_review", "tax", "business"}


def test_mermaid_has_a_lane_per_department_and_conditional_edges() -> None:
    text = mermaid(spec(), {"environment": "Environment Department"})
    assert text.startswith("flowchart LR\n")
    for lane in ("lane_local_admin", "lane_tax", 'lane_environment["Environment Department"]'):
        assert lane in text
    assert (
        'screening -. "if decisions.screening.inspection_required == true" .-> inspection' in text
    )
    assert "zoning --> licensing_review" in text


def test_svg_is_well_formed_with_every_step_and_lane() -> None:
    names = {"local-admin": "Local Administration", "tax": "Tax Authority"}
    document = svg(spec(), names)
    root = ElementTree.fromstring(document)  # noqa: S314 - our own output, not untrusted input
    ns = "{http://www.w3.org/2000/svg}"
    ids = {g.get("id") for g in root.iter(f"{ns}g")}
    assert {f"step-{s.id}" for s in spec().steps} == ids
    texts = " ".join(t.text or "" for t in root.iter() if t.text)
    assert "Tax Authority" in texts
    assert "Open a restaurant" in texts
    assert root.get("role") == "img"


def test_published_schema_accepts_the_demo_blueprints() -> None:
    schema = blueprint_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    for path in (ROOT / "services").glob("*/blueprint.yaml"):
        jsonschema.validate(yaml.safe_load(path.read_text(encoding="utf-8")), schema)
    assert "steps" in schema["required"]


def test_legal_deadline_skips_weekends_and_holidays() -> None:
    calendar = load_calendar(ROOT, "riverton")
    assert not calendar.is_working_day(date(2027, 1, 1))  # New Year's Day (Friday)
    start = datetime(2026, 12, 31, 10, 0, tzinfo=UTC)  # Thursday
    # Fri 1 Jan is a holiday, then the weekend: the first working day is Mon 4 Jan
    assert calendar.add_working_days(start, 1) == datetime(2027, 1, 4, 10, 0, tzinfo=UTC)
    assert calendar.add_working_days(start, 20).date() == date(2027, 1, 29)
