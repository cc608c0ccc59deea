"""``civicloom staff``: check the identity provider's group mapping, list a department's staff
(ADR 0042, docs/how-to/map-identity-provider-claims.md)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from pydantic import TypeAdapter, ValidationError
from rich.console import Console
from rich.table import Table

from civicloom.db import Database, UnitOfWork
from civicloom.identity.directory import check_group_mapping, read_department_members
from civicloom.kernel import SystemClock
from civicloom.settings import StaffGroup, get_settings

T = TypeVar("T")
console = Console()
app = typer.Typer(
    help="The staff directory: identity-provider groups, departments and roles.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
_MAPPING = TypeAdapter(dict[str, StaffGroup])


def _run(use_case: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    settings = get_settings()

    async def main() -> T:
        database = Database(settings.effective_database_url, 1)
        try:
            return await use_case(UnitOfWork(database))
        finally:
            await database.dispose()

    return asyncio.run(main())


@app.command("check-mapping")
def check_mapping(
    file: Annotated[
        Path | None,
        typer.Option(help="A JSON mapping to check; default: CIVICLOOM_OIDC_STAFF_GROUP_MAPPING."),
    ] = None,
) -> None:
    """Check each group of the mapping against the registered departments and their roles;
    exits 1 naming every group that would refuse its members' sign-in."""
    if file is not None:
        try:
            groups = _MAPPING.validate_python(json.loads(file.read_text(encoding="utf-8")))
        except (OSError, ValueError, ValidationError) as exc:
            console.print(f"[red]{file}: not a group mapping ({type(exc).__name__})[/red]")
            raise typer.Exit(1) from exc
    else:
        groups = get_settings().oidc_staff_group_mapping
    if not groups:
        console.print("No group mapping: the `roles` and `department` claims are read as they are.")
        return
    mapping = {name: (g.department, tuple(g.roles)) for name, g in groups.items()}
    checked = _run(lambda uow: check_group_mapping(uow, mapping))
    table = Table("group", "department", "roles", "check")
    for row in checked:
        table.add_row(
            row.group,
            row.department or "(none)",
            ", ".join(row.roles),
            f"[red]{row.problem}[/red]" if row.problem else "[green]ok[/green]",
        )
    console.print(table)
    if any(row.problem for row in checked):
        raise typer.Exit(1)


@app.command("list")
def list_staff(
    department: Annotated[str, typer.Argument(help="Department id, e.g. local-admin.")],
) -> None:
    """The department's people: roles today (with acting-up and delegated ones), who is away."""
    members = _run(lambda uow: read_department_members(uow, SystemClock(), department))
    table = Table("id", "name", "roles today", "status")
    for m in members:
        table.add_row(
            m.id, m.name, ", ".join(sorted(m.roles)), "available" if m.available else "away"
        )
    console.print(table)
