"""``civicloom rules …``: test, publish, evaluate and what-if decision models."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from civicloom.audit import cli_actor
from civicloom.db import Database, UnitOfWork
from civicloom.kernel import DomainError, ValidationFailed
from civicloom.rules.book import RuleBook
from civicloom.rules.domain import ModelRef
from civicloom.rules.engine import run_tests
from civicloom.rules.loader import load_model_file, model_files
from civicloom.rules.publishing import (
    PublishResult,
    publish_decision_model,
    retire_decision_model,
)
from civicloom.rules.services import recorded_evaluations
from civicloom.rules.whatif import WhatIfReport, replay
from civicloom.settings import Profile, get_settings

console = Console()


def refuse_in_production(what: str) -> None:
    """In production a model changes only through an approved change request (ADR 0049)."""
    if get_settings().profile is Profile.PRODUCTION:
        console.print(
            f"[red]{what} is refused in production: draft a change request in the back office "
            "(/backoffice/changes); once every owner and the central team approved it, the "
            "worker publishes it at its effective date[/red]"
        )
        raise typer.Exit(1)


app = typer.Typer(
    help="Department decision models (GoRules JDM): test, publish, evaluate, what-if.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _rules_dir(rules_dir: Path | None) -> Path:
    return rules_dir or get_settings().blueprints_dir / "rules"


def _fail(exc: DomainError) -> typer.Exit:
    console.print(f"[red]{exc.detail}[/red]")
    for err in getattr(exc, "errors", []):
        console.print(f"  {err.field}: [bold]{err.rule}[/bold] {err.message}")
    return typer.Exit(1)


def _version_path(rules_dir: Path, target: str) -> Path:
    """A file path as given, or the version file of ``department/model[@N]`` (newest if no N)."""
    if target.endswith(".json"):
        return Path(target)
    ref = ModelRef.parse(target)
    if ref.version is not None:
        return rules_dir / ref.department / ref.model / f"v{ref.version}.json"
    files = [
        p for p in model_files(rules_dir) if p.parent == rules_dir / ref.department / ref.model
    ]
    if not files:
        raise typer.BadParameter(f"no versions of {ref.key} under {rules_dir}")
    return max(files, key=lambda p: int(p.stem[1:]))


RulesDir = Annotated[Path | None, typer.Option(help="Rules directory (default: settings).")]


@app.command("test")
def run_model_tests(
    models: Annotated[
        list[str] | None, typer.Argument(help="department/model[@N]; all if none.")
    ] = None,
    rules_dir: RulesDir = None,
) -> None:
    """Run every model's test cases (exit 1 when any fails)."""
    try:
        book = RuleBook.from_directory(_rules_dir(rules_dir))
    except ValidationFailed as exc:
        raise _fail(exc) from exc
    wanted = [ModelRef.parse(m) for m in models or []]
    table = Table("model", "version", "status", "cases", "result")
    failed = 0
    for model in book.all_models():
        if wanted and not any(
            w.key == model.ref.key and w.version in (None, model.version) for w in wanted
        ):
            continue
        report = run_tests(model)
        failed += not report.passed
        ok = f"{len(report.results) - len(report.failures)}/{len(report.results)}"
        verdict = "[green]pass[/green]" if report.passed else "[red]FAIL[/red]"
        table.add_row(model.ref.key, str(model.version), model.metadata.status.value, ok, verdict)
        for problem in report.problems:
            table.add_row("", "", "", "", f"[red]{problem}[/red]")
        for case in report.failures:
            detail = case.error or "; ".join(case.mismatches)
            table.add_row("", "", "", "", f"[red]{case.case}: {detail}[/red]")
    console.print(table)
    if failed:
        console.print(f"[red]{failed} model version(s) failing[/red]")
        raise typer.Exit(1)


@app.command("publish")
def publish(
    target: Annotated[str, typer.Argument(help="department/model[@N] or a vN.json path.")],
    rules_dir: RulesDir = None,
) -> None:
    """Publish a version: refused (exit 1) with the failing cases unless all its tests pass.
    Audited as the operator; refused in production (use a change request)."""
    refuse_in_production("civicloom rules publish")
    path = _version_path(_rules_dir(rules_dir), target)

    async def main() -> PublishResult:
        database = Database(get_settings().effective_database_url)
        try:
            return await publish_decision_model(
                UnitOfWork(database), path, datetime.now(UTC), actor=cli_actor()
            )
        finally:
            await database.dispose()

    try:
        result = asyncio.run(main())
    except DomainError as exc:
        raise _fail(exc) from exc
    state = "published" if result.newly_published else "already published (unchanged)"
    console.print(
        f"[green]{result.model.ref} {state}[/green]: {len(result.report.results)} case(s) pass; "
        f"hash {result.model.metadata.content_hash}"
    )


@app.command("retire")
def retire(
    target: Annotated[str, typer.Argument(help="department/model@N or a vN.json path.")],
    rules_dir: RulesDir = None,
) -> None:
    """Retire a published version: kept to explain past decisions, never chosen again.
    Audited; refused in production (use a change request)."""
    refuse_in_production("civicloom rules retire")
    path = _version_path(_rules_dir(rules_dir), target)

    async def main() -> str:
        database = Database(get_settings().effective_database_url)
        try:
            retired = await retire_decision_model(
                UnitOfWork(database), path, datetime.now(UTC), actor=cli_actor()
            )
        finally:
            await database.dispose()
        return str(retired.ref)

    try:
        console.print(f"[yellow]{asyncio.run(main())} retired[/yellow]")
    except DomainError as exc:
        raise _fail(exc) from exc


def _json_arg(text: str) -> dict[str, Any]:
    raw = Path(text[1:]).read_text(encoding="utf-8") if text.startswith("@") else text
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise typer.BadParameter("input must be a JSON object")
    return value


@app.command("eval")
def eval_model(
    model: Annotated[str, typer.Argument(help="department/model[@N]")],
    input_json: Annotated[str, typer.Option("--input", help="JSON object, or @file.json")],
    on: Annotated[str | None, typer.Option(help="Evaluation date (YYYY-MM-DD).")] = None,
    draft: Annotated[bool, typer.Option(help="Also consider draft versions.")] = False,
    rules_dir: RulesDir = None,
) -> None:
    """Evaluate a model and show its output and the rules that fired."""
    try:
        book = RuleBook.from_directory(_rules_dir(rules_dir))
        day = date.fromisoformat(on) if on else None
        decision = book.evaluate(model, _json_arg(input_json), on=day, include_drafts=draft)
    except DomainError as exc:
        raise _fail(exc) from exc
    console.print_json(
        json.dumps(
            {
                "model": decision.model,
                "version": decision.version,
                "output": decision.output,
                "rules": [r.as_json() for r in decision.rules],
            }
        )
    )
    console.print(decision.explain())


def _print_whatif(report: WhatIfReport) -> None:
    console.print(
        f"[bold]{report.model}[/bold] candidate v{report.candidate_version}: replayed "
        f"{report.replayed} recorded outcome(s): [yellow]{report.changed} changed[/yellow], "
        f"{report.unchanged} unchanged, {report.errors} error(s)"
    )
    for transition, count in report.transitions.items():
        console.print(f"  {count} × {transition}")
    for ex in report.examples:
        after = ex.error or json.dumps(ex.after)
        console.print(
            f"  e.g. application {ex.application_id} ({ex.purpose}, was v{ex.recorded_version}): "
            f"input {json.dumps(ex.input)}: {json.dumps(ex.before)} → {after}"
        )


@app.command("whatif")
def whatif(
    model: Annotated[str, typer.Argument(help="department/model whose recorded inputs to replay")],
    candidate: Annotated[Path, typer.Option(help="Candidate JDM file (vN.json or an export).")],
    examples: Annotated[int, typer.Option(help="How many changed outcomes to show.")] = 5,
    limit: Annotated[int, typer.Option(help="Most recent applications to replay.")] = 10_000,
) -> None:
    """Replay a candidate over past applications' recorded inputs; report changed outcomes."""
    ref = ModelRef.parse(model)
    try:
        cand = load_model_file(candidate, ref.department, ref.model, candidate=True)
    except DomainError as exc:
        raise _fail(exc) from exc

    async def main() -> WhatIfReport:
        database = Database(get_settings().effective_database_url)
        try:
            async with database.session() as session:
                records = await recorded_evaluations(session, ref.key, limit)
        finally:
            await database.dispose()
        return replay(cand, records, examples)

    _print_whatif(asyncio.run(main()))
