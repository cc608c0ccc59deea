"""``civicloom`` command line (Typer + Rich)."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from civicloom.audit import cli as audit_cli
from civicloom.catalogue import cli as catalogue_cli
from civicloom.connectors import cli as connectors_cli
from civicloom.db import UnitOfWork
from civicloom.documents import cli as documents_cli
from civicloom.funding import cli as funding_cli
from civicloom.governance import bundle_cli
from civicloom.governance import cli as governance_cli
from civicloom.govstack import cli as govstack_cli
from civicloom.identity import cli as identity_cli
from civicloom.kernel import Clock
from civicloom.kpis import cli as kpis_cli
from civicloom.rules import cli as rules_cli
from civicloom.settings import PROJECT_ROOT, get_settings, settings_reference
from civicloom.supervisor import simulator_urls

console = Console()
app = typer.Typer(
    help="civicloom: one application, many departments.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(
    help="Database migrations.", no_args_is_help=True, pretty_exceptions_enable=False
)
demo_app = typer.Typer(
    help="The demo world (../shared/DEMO.md).", no_args_is_help=True, pretty_exceptions_enable=False
)
docs_app = typer.Typer(
    help="Generated documentation.", no_args_is_help=True, pretty_exceptions_enable=False
)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(docs_app, name="docs")
app.add_typer(audit_cli.app, name="audit")
app.add_typer(audit_cli.keys_app, name="keys")
app.add_typer(documents_cli.documents_app, name="documents")
app.command("verify")(documents_cli.verify)
app.add_typer(identity_cli.app, name="apikeys")
app.add_typer(identity_cli.staff_app, name="staff")
app.add_typer(catalogue_cli.app, name="blueprint")
departments_app = connectors_cli.build_app(simulator_urls)
app.add_typer(departments_app, name="departments")
agreements_app = typer.Typer(
    help="Data-sharing agreements between departments.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(agreements_app, name="agreements")
app.add_typer(rules_cli.app, name="rules")


def _bootstrap() -> Any:
    """The composition root, imported only by the commands that run something."""
    return importlib.import_module("civicloom.bootstrap")


app.add_typer(kpis_cli.build_app(_bootstrap), name="kpi")
app.add_typer(funding_cli.build_app(_bootstrap), name="funding")
app.add_typer(governance_cli.build_app(_bootstrap), name="change")
demo_app.command("loadgen")(kpis_cli.loadgen_command(_bootstrap))
app.add_typer(govstack_cli.build_app(_bootstrap), name="govstack")
app.add_typer(bundle_cli.build_app(_bootstrap), name="bundle")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default: settings).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: settings).")] = None,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes.")] = 1,
    govstack_port: Annotated[
        list[int] | None,
        typer.Option(
            help="Also serve the GovStack facades at the root of this port (repeatable; "
            "default: settings.govstack_ports). One worker process only."
        ),
    ] = None,
) -> None:
    """Serve the API and web UI with uvicorn (and the GovStack listeners, if asked)."""
    import uvicorn

    settings = get_settings()
    ports = govstack_port or settings.govstack_ports
    if ports:
        if workers != 1:
            raise typer.BadParameter("the GovStack listener runs in one worker process")
        govstack_cli.serve_with_listeners(
            _bootstrap, host or settings.host, port or settings.port, ports
        )
        return
    uvicorn.run(
        "civicloom.bootstrap:uvicorn_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_config=None,
        access_log=False,
        proxy_headers=False,  # X-Forwarded-For: settings.trusted_proxies (ADR 0062)
    )


@app.command()
def worker(
    worker_id: Annotated[str | None, typer.Option(help="Name in heartbeats and leases.")] = None,
) -> None:
    """Run a worker: claims due work from the database until interrupted."""
    import signal

    from civicloom.bootstrap import build_worker

    async def main() -> None:
        w = build_worker(worker_id=worker_id)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, w.stop)
        await w.run()

    asyncio.run(main())


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Migrate the configured database to the newest (or given) revision."""
    from civicloom.db.migrate import upgrade

    settings = get_settings()
    with console.status(f"migrating to {revision}…"):
        upgrade(settings.migrations_dir, settings.effective_database_url, revision)
    console.print(f"[green]database at {revision}[/green]")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument()]) -> None:
    """Migrate the configured database down to a revision (``base`` empties it)."""
    from civicloom.db.migrate import downgrade

    settings = get_settings()
    downgrade(settings.migrations_dir, settings.effective_database_url, revision)
    console.print(f"[yellow]database at {revision}[/yellow]")


@db_app.command("revision")
def db_revision(
    message: Annotated[str, typer.Option("-m", help="What the migration does.")],
    number: Annotated[str, typer.Option(help="Sequential id, e.g. 0002.")],
) -> None:
    """Autogenerate a numbered migration from the difference between tables and database."""
    from alembic import command

    from civicloom.db.migrate import alembic_config

    settings = get_settings()
    cfg = alembic_config(settings.migrations_dir, settings.effective_database_url)
    command.revision(cfg, message=message, autogenerate=True, rev_id=number)


@demo_app.command("load")
def demo_load() -> None:
    """Register the demo departments and publish the demo blueprints (idempotent)."""
    from civicloom.bootstrap import build_container
    from civicloom.demo import load_demo

    async def main() -> None:
        container = build_container()
        try:
            report = await load_demo(container, progress=console.print)
        finally:
            await container.database.dispose()
        console.print(
            f"[green]demo loaded:[/green] {report.departments} departments, "
            f"{report.blueprints_published} blueprint version(s) newly published, "
            f"{report.blueprints_total} in all"
        )

    _run_or_explain(main)


@demo_app.command("seed")
def demo_seed(
    applications: Annotated[
        int, typer.Option(min=1, help="How many applications to load (e.g. 1000000).")
    ] = 10_000,
) -> None:
    """Bulk-load N realistic applications of the demo services (steps, payments, documents'
    metadata, timelines, audit chains) for measuring at volume; never in production."""
    from civicloom.bootstrap import build_container
    from civicloom.demo import load_demo, seed_applications

    async def main() -> None:
        container = build_container()
        try:
            await load_demo(container, progress=lambda _: None)
            report = await seed_applications(container, applications, progress=console.print)
        finally:
            await container.database.dispose()
        tables = ", ".join(f"{table} {rows:,}" for table, rows in report.rows.items())
        console.print(
            f"[green]seeded {report.applications:,} applications:[/green] {tables}; "
            f"{report.total_rows:,} rows in {report.seconds:.1f} s = "
            f"{report.rows_per_second:,.0f} rows/s",
            soft_wrap=True,
        )

    _run_or_explain(main)


def _run_or_explain(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a command's coroutine; a refusal (a domain error) is printed with every field it
    names, and the command exits 1 (no traceback)."""
    from civicloom.kernel import DomainError

    try:
        asyncio.run(main())
    except DomainError as exc:
        console.print(f"[red]{exc.detail}[/red]", soft_wrap=True)
        for err in getattr(exc, "errors", []):
            console.print(f"  {err.field}: [bold]{err.rule}[/bold] {err.message}", soft_wrap=True)
        raise typer.Exit(1) from None


def _sync(
    noun: str,
    load: Callable[[Path], Sequence[Any]],
    store: Callable[[UnitOfWork, Clock, Sequence[Any]], Awaitable[int]],
) -> None:
    """Load definitions from the blueprints directory and store them (a use case that owns its
    transaction; the command never commits), then say what changed."""
    from civicloom.bootstrap import build_container

    async def main() -> None:
        container = build_container()
        try:
            items = load(container.settings.blueprints_dir)
            changed = await store(container.uow(), container.clock, items)
        finally:
            await container.database.dispose()
        console.print(
            f"[green]{noun} synced:[/green] {len(items)} "
            f"({', '.join(item.id for item in items)}), {changed} new or changed",
            soft_wrap=True,
        )

    _run_or_explain(main)


@departments_app.command("sync")
def departments_sync() -> None:
    """Register the departments of ``blueprints/departments`` (idempotent, audited); refused when
    a capability contract would break a published service (ADR 0051)."""
    from civicloom.catalogue import register_department_contracts
    from civicloom.departments import load_departments

    _sync("departments", load_departments, register_department_contracts)


@agreements_app.command("sync")
def agreements_sync() -> None:
    """Store the data-sharing agreements of ``blueprints/agreements`` (idempotent, audited)."""
    from civicloom.catalogue import load_agreements
    from civicloom.registries import sync_agreements

    _sync("agreements", load_agreements, sync_agreements)


@app.command()
def run(
    with_simulators: Annotated[bool, typer.Option(help="Start the department simulators.")] = True,
) -> None:
    """Start the API, a worker and the department simulators as one supervised group."""
    from civicloom.supervisor import run_group

    raise typer.Exit(run_group(get_settings(), with_simulators=with_simulators, console=console))


@docs_app.command("settings")
def docs_settings(
    output: Annotated[Path, typer.Option(help="Where to write it.")] = PROJECT_ROOT
    / "docs/reference/settings.md",
) -> None:
    """Regenerate docs/reference/settings.md from the Settings class."""
    output.write_text(settings_reference(), encoding="utf-8")
    console.print(f"wrote {output}")


@docs_app.command("openapi")
def docs_openapi(
    output: Annotated[Path, typer.Option(help="Where to write it.")] = PROJECT_ROOT
    / "docs/reference/openapi.json",
) -> None:
    """Regenerate the committed OpenAPI document of the public API."""
    import json

    from civicloom.bootstrap import build_app

    document = build_app().openapi()
    output.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    console.print(f"wrote {output}")


@app.command("settings")
def show_settings() -> None:
    """Show the effective settings (secrets hidden)."""
    settings = get_settings()
    table = Table("setting", "value")
    for name, value in settings.model_dump().items():
        table.add_row(name, "***" if "secret" in name else str(value))
    console.print(table)


def main() -> None:
    """Entry point of the ``civicloom`` script."""
    app()
