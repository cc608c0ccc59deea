"""``civicloom audit …`` and ``civicloom keys …`` (Typer sub-apps wired in ``civicloom.cli``)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.audit.domain import chain_key
from civicloom.audit.reads import fold_reads
from civicloom.audit.roles import restrict_app_role
from civicloom.audit.seals import export_audit, seal_now
from civicloom.audit.signing import generate_key, load_or_create_keyring, load_public_keys
from civicloom.audit.verification import AuditReport, verify_audit
from civicloom.db import Database, UnitOfWork
from civicloom.kernel import SystemClock
from civicloom.settings import Profile, Settings, get_settings

console = Console(stderr=True)
app = typer.Typer(
    help="Tamper-evident audit trail.", no_args_is_help=True, pretty_exceptions_enable=False
)
keys_app = typer.Typer(
    help="Signing keys (licences, audit seals).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
T = TypeVar("T")


def _with_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def main() -> T:
        database = Database(settings.effective_database_url)
        try:
            async with database.session() as session:
                return await work(session)
        finally:
            await database.dispose()

    return asyncio.run(main())


EXIT_TAMPERED = 1
EXIT_FOLD_BEHIND = 3
"""The chains are intact, but reads have waited longer than ``audit_read_fold_warn_seconds``
to be folded into them (2 is Typer's for a wrong command line)."""


def _fold_warning(report: AuditReport, limit: float) -> str | None:
    """The warning when the oldest read waiting to be folded is older than ``limit`` seconds
    (the worker's fold has stopped: ADR 0081), else None."""
    lag = report.fold_lag(SystemClock().now())
    if lag is None or lag.total_seconds() <= limit:
        return None
    return (
        f"warning: {report.pending_reads} read(s) of personal data have waited more than "
        f"{limit:g} s to be folded into their chains, the oldest for "
        f"{int(lag.total_seconds() // 60)} min: is the worker's audit-read-fold job running?"
    )


@app.command("verify")
def verify() -> None:
    """Check every chain and seal; exit 1 and name each tampered entry if anything is wrong,
    exit 3 if intact but reads of personal data wait too long to be folded into the chains."""
    settings = get_settings()
    keys = load_public_keys(settings.effective_keys_dir)
    report = _with_session(settings, lambda s: verify_audit(s, keys))
    warning = _fold_warning(report, settings.audit_read_fold_warn_seconds)
    if report.valid:
        console.print(
            f"[green]audit intact:[/green] {report.entries} entries in {report.chains} chains, "
            f"{report.seals} seal(s) verified; {report.pending_reads} read(s) recorded and "
            "waiting to be folded into their chains"
        )
        if warning is not None:
            console.print(f"[yellow]{warning}[/yellow]")
            raise typer.Exit(EXIT_FOLD_BEHIND)
        return
    table = Table("kind", "entry", "chain", "position", "what was found", title="audit tampering")
    for p in report.problems:
        table.add_row(
            p.kind, f"#{p.seq}" if p.seq else "-", p.chain or "-", str(p.position or "-"), p.message
        )
    console.print(table)
    console.print(f"[red]{len(report.problems)} problem(s)[/red] in {report.entries} entries")
    if warning is not None:
        console.print(f"[yellow]{warning}[/yellow]")
    raise typer.Exit(EXIT_TAMPERED)


@app.command("fold")
def fold() -> None:
    """Fold the recorded reads of personal data into their chains now (the worker does it
    every few seconds; ADR 0073)."""
    settings = get_settings()

    async def main() -> int:
        database = Database(settings.effective_database_url)
        try:
            return await fold_reads(UnitOfWork(database), batches=1_000_000)
        finally:
            await database.dispose()

    console.print(f"folded {asyncio.run(main())} read(s) into their chains")


@app.command("seal")
def seal() -> None:
    """Seal the heads of every chain that grew since the last seal (run it periodically)."""
    settings = get_settings()
    keyring = load_or_create_keyring(
        settings.effective_keys_dir, settings.profile is not Profile.PRODUCTION
    )

    async def main() -> str:
        database = Database(settings.effective_database_url)
        try:
            row = await seal_now(UnitOfWork(database), SystemClock(), keyring)
        finally:
            await database.dispose()
        if row is None:
            return "nothing new to seal"
        return (
            f"seal #{row.id}: {len(row.heads)} chain head(s), root {row.root[:16]}…, key {row.kid}"
        )

    console.print(asyncio.run(main()))


@app.command("export")
def export(
    output: Annotated[Path | None, typer.Option(help="File to write (default: stdout).")] = None,
    application: Annotated[str | None, typer.Option(help="Only this application's chain.")] = None,
) -> None:
    """Export entries, reads not yet folded into them, seals and Merkle proofs as JSON Lines."""
    settings = get_settings()
    chain = chain_key("application", application) if application else None

    async def work(session: AsyncSession) -> int:
        count = 0
        out = output.open("w", encoding="utf-8") if output else sys.stdout
        try:
            async for line in export_audit(session, chain):
                out.write(json.dumps(line, sort_keys=True, ensure_ascii=False) + "\n")
                count += 1
        finally:
            if output:
                out.close()
        return count

    count = _with_session(settings, work)
    console.print(f"exported {count} line(s)")


@app.command("restrict-role")
def restrict_role(
    role: Annotated[str, typer.Argument(help="The app's PostgreSQL login role.")],
) -> None:
    """PostgreSQL: let ROLE use every table but never UPDATE/DELETE/TRUNCATE audit rows."""
    settings = get_settings()

    async def main() -> None:
        database = Database(settings.effective_database_url)
        try:
            await restrict_app_role(UnitOfWork(database), role)
        finally:
            await database.dispose()

    asyncio.run(main())
    console.print(f"[green]{role}[/green] may append to the audit trail but not change it")


@keys_app.command("generate")
def keys_generate(
    rotate: Annotated[bool, typer.Option(help="Add a new active key even if one exists.")] = False,
) -> None:
    """Create the signing key (or, with --rotate, a new one; old public keys stay published)."""
    keys_dir = get_settings().effective_keys_dir
    if (keys_dir / "ACTIVE").exists() and not rotate:
        console.print(f"a key already exists in {keys_dir}; use --rotate for a new one")
        return
    kid = generate_key(keys_dir)
    console.print(f"[green]new active key[/green] {kid} in {keys_dir}")


@keys_app.command("jwks")
def keys_jwks(
    output: Annotated[Path | None, typer.Option(help="File to write (default: stdout).")] = None,
) -> None:
    """Print the public keys as JWKS (what `civicloom verify --jwks` needs offline)."""
    text = json.dumps(load_public_keys(get_settings().effective_keys_dir).to_jwks(), indent=2)
    if output:
        output.write_text(text + "\n", encoding="utf-8")
    else:
        sys.stdout.write(text + "\n")
