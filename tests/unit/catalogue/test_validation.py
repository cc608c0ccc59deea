"""Blueprint validation: the demo blueprints are valid; each deliberately broken one fails
with the right rule, path and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from civicloom.catalogue import CatalogueContext, Problem, validate_blueprint_file
from civicloom.catalogue.validation import validate_blueprint_text

ROOT = Path(__file__).resolve().parents[3] / "blueprints"
RESTAURANT = ROOT / "services" / "open-a-restaurant" / "blueprint.yaml"


@pytest.fixture(scope="module")
def context() -> CatalogueContext:
    """Departments, capabilities and models of the demo world."""
    return CatalogueContext.from_directory(ROOT)


@pytest.mark.parametrize("path", sorted((ROOT / "services").glob("*/blueprint.yaml")), ids=str)
def test_demo_blueprints_are_valid(path: Path, context: CatalogueContext) -> None:
    assert validate_blueprint_file(path, context) == []


CASES = yaml.safe_load((Path(__file__).parent / "broken_cases.yaml").read_text(encoding="utf-8"))


def _walk(doc: Any, part: Any) -> Any:
    if isinstance(part, str) and part.startswith("@"):
        return next(s for s in doc if s["id"] == part[1:])
    return doc[part]


def mutate(doc: dict[str, Any], case: dict[str, Any]) -> None:
    """Apply one case's change to a blueprint document."""
    if "set" in case:
        path, value = case["set"]
        target: Any = doc
        for part in path[:-1]:
            target = _walk(target, part)
        target[path[-1]] = value
    if "add_step" in case:
        doc["steps"].append(case["add_step"])
    if "drop_sharing_to" in case:
        doc["data_sharing"] = [s for s in doc["data_sharing"] if s["to"] != case["drop_sharing_to"]]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_broken_blueprints_fail_with_the_right_message(
    tmp_path: Path, context: CatalogueContext, case: dict[str, Any]
) -> None:
    rule, path, words = case["expect"]
    doc = yaml.safe_load(RESTAURANT.read_text(encoding="utf-8"))
    mutate(doc, case)
    file = tmp_path / "blueprint.yaml"
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    file.write_text(text, encoding="utf-8")
    problems = validate_blueprint_file(file, context)
    matching = [p for p in problems if p.rule == rule and p.path == path]
    assert matching, "\n".join(map(str, problems)) or "no problems reported"
    problem: Problem = matching[0]
    assert words in problem.message, str(problem)
    assert problem.file == str(file)
    # the line points at the offending key (or its nearest existing parent)
    last_key = [
        part for part in path.replace("]", "").replace("[", ".").split(".") if not part.isdigit()
    ][-1]
    assert last_key in text.splitlines()[problem.line - 1] or problem.line > 1, str(problem)
    assert f"{file}:{problem.line}: {path}:" in str(problem)


def test_line_numbers_point_at_the_key(tmp_path: Path, context: CatalogueContext) -> None:
    text = RESTAURANT.read_text(encoding="utf-8").replace(
        "capability: tax.clearance_check", "capability: tax.clearance_chek"
    )
    [problem] = validate_blueprint_text(text, "bp.yaml", context)
    assert "capability: tax.clearance_chek" in text.splitlines()[problem.line - 1]


def test_yaml_syntax_errors_name_the_line(context: CatalogueContext) -> None:
    [problem] = validate_blueprint_text("id: x\nsteps: [\n", "bad.yaml", context)
    assert problem.rule == "yaml"
    assert problem.line >= 2
