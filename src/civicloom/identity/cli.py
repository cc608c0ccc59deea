"""``civicloom apikeys``: create, list, rotate and revoke machine clients' API keys;
``civicloom staff``: check the identity provider's group mapping, import the provider's user
listing before anyone signs in, list a department's staff (ADR 0042,
docs/how-to/map-identity-provider-claims.md)."""

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
from civicloom.identity.apikeys import (
    IssuedKey,
    create_api_key,
    list_api_keys,
    revoke_api_key,
    rotate_api_key,
)
from civicloom.identity.directory import check_group_mapping, read_department_members
from civicloom.identity.oidc import OidcClientConfig
from civicloom.identity.staffimport import import_staff, scim_users
from civicloom.kernel import DomainError, SystemClock
from civicloom.settings import StaffGroup, get_settings

T = TypeVar("T")
console = Console()
app = typer.Typer(
    help="API keys of machine clients (department systems, integrators).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _run(use_case: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    settings = get_settings()

    async def main() -> T:
        database = Database(settings.effective_database_url, 1)
        try:
            return await use_case(UnitOfWork(database))
        finally:
            await database.dispose()

    try:
        return asyncio.run(main())
    except DomainError as exc:
        console.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(1) from exc


def _show_key(issued: IssuedKey) -> None:
    console.print(f"[green]API key for {issued.client.name} ({issued.client.department})[/green]")
    console.print("Shown once; store it now. It cannot be recovered, only rotated:")
    console.print(issued.key, markup=False, highlight=False)


@app.command("create")
def create(
    name: Annotated[str, typer.Option(help="Who uses the key, e.g. 'Tax case system'.")],
    department: Annotated[str, typer.Option(help="Department id the key acts for.")],
    scope: Annotated[list[str], typer.Option(help="Scope such as applications:read; repeat.")],
    expires_in_days: Annotated[int, typer.Option(help="Days until the key expires.")] = 90,
) -> None:
    """Create a key; it is printed once."""
    issued = _run(
        lambda uow: create_api_key(
            uow,
            SystemClock(),
            name=name,
            department=department,
            scopes=scope,
            expires_in_days=expires_in_days,
        )
    )
    _show_key(issued)


@app.command("list")
def list_keys() -> None:
    """List keys (prefix, department, scopes, expiry; never secrets)."""
    clients = _run(list_api_keys)
    table = Table("prefix", "name", "department", "scopes", "expires", "revoked", "last used")
    for c in clients:
        table.add_row(
            c.prefix,
            c.name,
            c.department,
            " ".join(c.scopes),
            c.expires_at.isoformat(timespec="minutes"),
            c.revoked_at.isoformat(timespec="minutes") if c.revoked_at else "",
            c.last_used_at.isoformat(timespec="minutes") if c.last_used_at else "",
        )
    console.print(table)


@app.command("revoke")
def revoke(prefix: Annotated[str, typer.Argument(help="The key's prefix.")]) -> None:
    """Revoke a key at once."""
    client = _run(lambda uow: revoke_api_key(uow, SystemClock(), prefix))
    console.print(f"[yellow]revoked {client.prefix}[/yellow]")


@app.command("rotate")
def rotate(
    prefix: Annotated[str, typer.Argument(help="The key's prefix.")],
    grace_hours: Annotated[int, typer.Option(help="Hours the old key keeps working.")] = 24,
) -> None:
    """Issue a successor key; the old one keeps working for the grace period."""
    from datetime import timedelta

    issued = _run(
        lambda uow: rotate_api_key(uow, SystemClock(), prefix, grace=timedelta(hours=grace_hours))
    )
    _show_key(issued)


staff_app = typer.Typer(
    help="The staff directory: identity-provider groups, departments and roles.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
_MAPPING = TypeAdapter(dict[str, StaffGroup])


@staff_app.command("check-mapping")
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


@staff_app.command("list")
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


@staff_app.command("import")
def import_people(
    file: Annotated[
        Path,
        typer.Argument(help="The identity provider's users as SCIM 2.0 JSON (a ListResponse)."),
    ],
    mapping: Annotated[
        Path | None,
        typer.Option(help="The group mapping (JSON); default: CIVICLOOM_OIDC_STAFF_GROUP_MAPPING."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only say what would change; write nothing.")
    ] = False,
) -> None:
    """Put the staff identity provider's people in the directory before they first sign in,
    through the same group mapping as a sign-in (audited as `staff.updated`). Exits 1 naming
    every person skipped because the platform does not know their department or role."""
    try:
        users = scim_users(json.loads(file.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        console.print(f"[red]{file}: not a SCIM user listing ({type(exc).__name__})[/red]")
        raise typer.Exit(1) from exc
    settings = get_settings()
    groups = settings.oidc_staff_group_mapping
    if mapping is not None:
        try:
            groups = _MAPPING.validate_python(json.loads(mapping.read_text(encoding="utf-8")))
        except (OSError, ValueError, ValidationError) as exc:
            console.print(f"[red]{mapping}: not a group mapping ({type(exc).__name__})[/red]")
            raise typer.Exit(1) from exc
    config = OidcClientConfig(
        audience="staff",
        issuer=settings.oidc_staff_issuer,
        client_id=settings.oidc_staff_client_id,
        client_secret="",
        redirect_uri="",
        groups_claim=settings.oidc_staff_groups_claim,
        group_mapping={
            group: (grant.department, tuple(grant.roles)) for group, grant in groups.items()
        },
    )
    done = _run(lambda uow: import_staff(uow, SystemClock(), config, users, apply=not dry_run))
    table = Table("id", "name", "department", "roles", "outcome")
    for person in done:
        outcome = f"[red]skipped: {person.problem}[/red]" if person.problem else person.outcome
        table.add_row(
            person.subject,
            person.name,
            person.department or "(none)",
            ", ".join(person.roles),
            outcome,
        )
    console.print(table)
    if dry_run:
        console.print("Dry run: nothing was written.")
    if any(person.problem for person in done):
        raise typer.Exit(1)
