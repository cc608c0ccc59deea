"""The automatic checks of a submitted change: validation, every model's own tests, a what-if
replay of the draft over recent real applications, and translation completeness."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.catalogue import CatalogueContext, validate_blueprint_text
from civicloom.governance.artifacts import LANGUAGES, Workspace, parse_models
from civicloom.governance.domain import CheckResult, DiffLine
from civicloom.kernel import ValidationFailed
from civicloom.rules import (
    DecisionModel,
    ModelStatus,
    RuleBook,
    recorded_evaluations,
    replay,
    run_tests,
)


def _models(files: Mapping[str, str]) -> tuple[list[DecisionModel], list[str]]:
    try:
        return parse_models(files), []
    except ValidationFailed as exc:
        return [], [f"{e.field}: {e.message}" for e in exc.errors]


def validation(ws: Workspace, files: Mapping[str, str]) -> CheckResult:
    """Every draft file reads and validates as what it is."""
    problems: list[str] = []
    models, model_problems = _models(files)
    problems.extend(model_problems)
    # the draft's models are validated as they will be once published with the change
    as_published = [
        m.model_copy(
            update={"metadata": m.metadata.model_copy(update={"status": ModelStatus.PUBLISHED})}
        )
        for m in models
    ]
    book = RuleBook([*ws.book.all_models(), *as_published])
    context: CatalogueContext | None = None
    for rel, text in sorted(files.items()):
        if rel.startswith("services/"):
            context = context or CatalogueContext.from_directory(ws.blueprints_dir, book)
            problems.extend(
                f"{p.path}: {p.message}" for p in validate_blueprint_text(text, rel, context)
            )
        elif rel.endswith(".yaml"):
            try:
                raw = yaml.safe_load(text)
            except yaml.YAMLError as exc:
                problems.append(f"{rel}: {str(exc).splitlines()[0]}")
                continue
            if not isinstance(raw, dict):
                problems.append(f"{rel}: not a mapping")
        elif rel.endswith(".j2") and not text.strip():
            problems.append(f"{rel}: empty template")
    return CheckResult("validation", not problems, tuple(problems))


def model_tests(files: Mapping[str, str]) -> CheckResult:
    """Every decision model version in the draft passes its own test cases."""
    models, problems = _models(files)
    lines = list(problems)
    for model in models:
        report = run_tests(model)
        lines.extend(f"{model.ref}: {p}" for p in report.problems)
        lines.extend(
            f"{model.ref}: {r.case}: {r.error or '; '.join(r.mismatches)}" for r in report.failures
        )
        if not report.results:
            lines.append(f"{model.ref}: no test cases")
    return CheckResult("model-tests", not lines, tuple(lines))


def _money(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


async def what_if(session: AsyncSession, ws: Workspace, files: Mapping[str, str]) -> CheckResult:
    """Replay each draft model over the last recorded decisions of its model: how many would
    change, and how fees would move ("12 of the last 40 applications would pay €100 more")."""
    models, problems = _models(files)
    lines: list[str] = list(problems)
    params: list[Mapping[str, str | int]] = [{} for _ in problems]
    for model in models:
        records = await recorded_evaluations(session, model.ref.key, limit=ws.whatif_last)
        report = replay(model, records, max_examples=len(records) or 1)
        lines.append(
            "%(model)s: %(changed)s of the last %(replayed)s applications would get another "
            "decision"
        )
        params.append(
            {"model": model.ref.key, "changed": report.changed, "replayed": report.replayed}
        )
        moves: Counter[Decimal] = Counter()
        for example in report.examples:
            before = _money((example.before or {}).get("fee"))
            after = _money((example.after or {}).get("fee"))
            if before is not None and after is not None and after != before:
                moves[after - before] += 1
        currency = str(model.tests[0].expect.get("currency", "EUR")) if model.tests else "EUR"
        symbol = "€" if currency == "EUR" else f"{currency} "
        for delta, count in sorted(moves.items()):
            lines.append(
                "%(count)s of the last %(replayed)s applications would pay %(amount)s more"
                if delta > 0
                else "%(count)s of the last %(replayed)s applications would pay %(amount)s less"
            )
            params.append(
                {
                    "count": count,
                    "replayed": report.replayed,
                    "amount": f"{symbol}{abs(delta).normalize():f}",
                }
            )
        if report.errors:
            lines.append("%(model)s: %(errors)s replays failed")
            params.append({"model": model.ref.key, "errors": report.errors})
    return CheckResult("what-if", not problems, tuple(lines), tuple(params))


def translations(files: Mapping[str, str], diff: Sequence[DiffLine]) -> CheckResult:
    """Every changed or added form field has its label (and hint) in every language, and every
    changed template exists in every language."""
    missing: list[str] = []
    touched = {
        str(d.params.get("field")) for d in diff if d.part == "field" and "field" in d.params
    }
    for rel, text in files.items():
        if rel.startswith("services/"):
            try:
                raw = yaml.safe_load(text) or {}
            except yaml.YAMLError:
                continue
            fields = ((raw.get("form") or {}).get("schema") or {}).get("properties") or {}
            for name in sorted(touched & set(fields)):
                for key in ("x-title", "x-hint"):
                    texts = fields[name].get(key)
                    if key == "x-hint" and texts is None:
                        continue
                    texts = texts if isinstance(texts, dict) else {}
                    missing.extend(
                        f"{name}.{key}.{lang}"
                        for lang in LANGUAGES
                        if not str(texts.get(lang) or "").strip()
                    )
        elif rel.startswith("templates/"):
            stem = rel.rsplit(".", 2)[0]
            missing.extend(
                f"{stem}.{lang}.j2"
                for lang in LANGUAGES
                if not str(files.get(f"{stem}.{lang}.j2") or "").strip()
            )
    unique = tuple(dict.fromkeys(missing))
    return CheckResult("translations", not unique, unique)


async def run_checks(
    session: AsyncSession, ws: Workspace, files: Mapping[str, str], diff: Sequence[DiffLine]
) -> list[CheckResult]:
    """Every automatic check, in the order a reviewer reads them."""
    return [
        validation(ws, files),
        model_tests(files),
        await what_if(session, ws, files),
        translations(files, diff),
    ]
