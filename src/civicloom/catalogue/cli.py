"""``civicloom blueprint …``: validate, describe, diagram, publish and list service blueprints."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.console import Console
from rich.table import Table

from civicloom.audit import cli_actor
from civicloom.catalogue.context import CatalogueContext
from civicloom.catalogue.diagram import mermaid, svg
from civicloom.catalogue.loader import load_blueprint_file
from civicloom.catalogue.services import (
    list_current_blueprints,
    publish_service_version,
    retire_service_version,
)
from civicloom.catalogue.spec import Blueprint, blueprint_json_schema
from civicloom.catalogue.validation import validate_blueprint_file
from civicloom.db import Database, UnitOfWork
from civicloom.kernel import DomainError, SystemClock
from civicloom.settings import Profile, get_settings

console = Console()
app = typer.Typer(
    help="Service blueprints: validate, schema, diagram, publish, retire, list.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
BlueprintsDir = Annotated[
    Path | None, typer.Option(help="Blueprints directory (default: settings).")
]


def _dir(blueprints_dir: Path | None) -> Path:
    return blueprints_dir or get_settings().blueprints_dir


def _blueprint_path(root: Path, target: str) -> Path:
    """A file path as given, or ``services/<id>/blueprint.yaml``."""
    path = Path(target)
    return (
        path if path.suffix in (".yaml", ".yml") else root / "services" / target / "blueprint.yaml"
    )


def refuse_in_production(what: str) -> None:
    """In production a blueprint or model changes only through an approved change request
    (ADR 0049): the direct command exits 1 before reading or writing anything."""
    if get_settings().profile is Profile.PRODUCTION:
        console.print(
            f"[red]{what} is refused in production: draft a change request in the back office "
            "(/backoffice/changes); once every owner and the central team approved it, the "
            "worker publishes it at its effective date[/red]"
        )
        raise typer.Exit(1)


def _fail(exc: DomainError) -> typer.Exit:
    console.print(f"[red]{exc.detail}[/red]")
    for err in getattr(exc, "errors", []):
        console.print(f"  {err.field}: [bold]{err.rule}[/bold] {err.message}")
    return typer.Exit(1)


@app.command("validate")
def validate(
    files: Annotated[
        list[Path] | None, typer.Argument(help="Blueprint files; all if none.")
    ] = None,
    blueprints_dir: BlueprintsDir = None,
) -> None:
    """Report every problem with file, line and path (exit 1 if any)."""
    root = _dir(blueprints_dir)
    try:
        context = CatalogueContext.from_directory(root)
    except DomainError as exc:
        raise _fail(exc) from exc
    paths = files or sorted((root / "services").glob("*/blueprint.yaml"))
    total = 0
    for path in paths:
        problems = validate_blueprint_file(path, context)
        total += len(problems)
        if problems:
            for problem in problems:
                console.print(str(problem), markup=False, highlight=False, soft_wrap=True)
        else:
            console.print(f"[green]{path}: valid[/green]")
    if total:
        console.print(f"[red]{total} problem(s)[/red]")
        raise typer.Exit(1)


@app.command("schema")
def schema(output: Annotated[Path | None, typer.Option(help="Write to a file.")] = None) -> None:
    """Print (or write) the published JSON Schema of the blueprint format."""
    text = json.dumps(blueprint_json_schema(), indent=2, ensure_ascii=False) + "\n"
    if output:
        output.write_text(text, encoding="utf-8")
        console.print(f"wrote {output}")
    else:
        print(text, end="")


@app.command("diagram")
def diagram(
    target: Annotated[str, typer.Argument(help="Service id or blueprint file.")],
    fmt: Annotated[str, typer.Option("--format", help="svg or mermaid.")] = "svg",
    locale: Annotated[str, typer.Option(help="en or zh-Hans.")] = "en",
    output: Annotated[Path | None, typer.Option(help="Write to a file.")] = None,
    blueprints_dir: BlueprintsDir = None,
) -> None:
    """Render the journey as department swimlanes (SVG, or Mermaid text)."""
    root = _dir(blueprints_dir)
    path = _blueprint_path(root, target)
    spec = Blueprint.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    context = CatalogueContext.from_directory(root)
    names = {d.id: d.name.get(locale) for d in context.departments.values()}
    if fmt not in ("svg", "mermaid"):
        raise typer.BadParameter("--format is svg or mermaid")
    text = svg(spec, names, locale) if fmt == "svg" else mermaid(spec, names, locale)
    if output:
        output.write_text(text, encoding="utf-8")
        console.print(f"wrote {output}")
    else:
        print(text, end="")


@app.command("publish")
def publish(
    target: Annotated[str, typer.Argument(help="Service id or blueprint file.")],
    blueprints_dir: BlueprintsDir = None,
) -> None:
    """Validate, then publish the version (immutable; republishing unchanged is a no-op).
    Audited as the operator; refused in production (use a change request)."""
    refuse_in_production("civicloom blueprint publish")
    root = _dir(blueprints_dir)
    path = _blueprint_path(root, target)
    problems = validate_blueprint_file(path, CatalogueContext.from_directory(root))
    if problems:
        for problem in problems:
            console.print(str(problem), markup=False, highlight=False, soft_wrap=True)
        console.print(f"[red]not published: {len(problems)} problem(s)[/red]")
        raise typer.Exit(1)

    async def main() -> str:
        database = Database(get_settings().effective_database_url)
        try:
            published, created = await publish_service_version(
                UnitOfWork(database), SystemClock(), load_blueprint_file(path), actor=cli_actor()
            )
        finally:
            await database.dispose()
        state = "published" if created else "already published (unchanged)"
        bp = published.blueprint
        return f"{bp.id} v{bp.version} {state} ({published.content_hash})"

    try:
        console.print(f"[green]{asyncio.run(main())}[/green]")
    except DomainError as exc:
        raise _fail(exc) from exc


@app.command("retire")
def retire(
    service: Annotated[str, typer.Argument(help="Service id.")],
    version: Annotated[int, typer.Argument(help="Version to retire.")],
) -> None:
    """Retire a published version (applications already on it continue). Audited; refused in
    production (a change request retires the version it replaces)."""
    refuse_in_production("civicloom blueprint retire")

    async def main() -> None:
        database = Database(get_settings().effective_database_url)
        try:
            await retire_service_version(
                UnitOfWork(database), SystemClock(), service, version, actor=cli_actor()
            )
        finally:
            await database.dispose()

    try:
        asyncio.run(main())
    except DomainError as exc:
        raise _fail(exc) from exc
    console.print(f"[yellow]{service} v{version} retired[/yellow]")


@app.command("list")
def list_blueprints() -> None:
    """The current published version of every service."""

    async def main() -> Table:
        database = Database(get_settings().effective_database_url)
        table = Table("service", "version", "owner", "status", "content hash")
        try:
            async with database.session() as session:
                for p in await list_current_blueprints(session):
                    bp = p.blueprint
                    table.add_row(
                        bp.id, str(bp.version), bp.owner, p.status.value, p.content_hash[:16]
                    )
        finally:
            await database.dispose()
        return table

    console.print(asyncio.run(main()))
