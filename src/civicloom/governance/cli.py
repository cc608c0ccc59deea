"""``civicloom change …``: list change requests, show one, publish those that are due.

The composition root is handed in (``compose``) so this module never imports ``bootstrap``.
Drafting, approving and refusing happen in the back office (``/backoffice/changes``), where
the person acting is signed in; the CLI only reads and runs the worker's publication job.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from civicloom.governance.inflight import plan_migration
from civicloom.governance.publication import (
    publish_due_changes,
)
from civicloom.governance.queries import (
    get_change,
    list_changes,
)
from civicloom.kernel import DomainError
from civicloom.runtime import Container

Compose = Callable[[], Any]  # returns the bootstrap module: build_container, governance_workspace
console = Console()


def build_app(compose: Compose) -> typer.Typer:
    """The ``change`` sub-app."""
    app = typer.Typer(
        help="Change requests (ADR 0049): list, show, publish those due.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
    )

    @app.command("list")
    def list_command(
        target: Annotated[str | None, typer.Option(help="Only changes of this target.")] = None,
    ) -> None:
        """Every change request, newest first."""

        async def main() -> None:
            container: Container = compose().build_container()
            try:
                changes = await list_changes(container.uow(), target=target)
            finally:
                await container.database.dispose()
            table = Table("id", "kind", "target", "title", "state", "effective", "waiting for")
            for c in changes:
                table.add_row(
                    c.id,
                    c.kind.value,
                    c.target,
                    c.title,
                    c.state.value,
                    c.effective_at.date().isoformat() if c.effective_at else "",
                    ", ".join(c.missing) if c.state.value == "submitted" else "",
                )
            console.print(table)

        asyncio.run(main())

    @app.command("show")
    def show(change_id: Annotated[str, typer.Argument(help="Change request id.")]) -> None:
        """One change request: its diff, checks and approvals."""

        async def main() -> None:
            container: Container = compose().build_container()
            try:
                c = await get_change(container.uow(), change_id)
            finally:
                await container.database.dispose()
            console.print(f"[bold]{c.title}[/bold] ({c.kind.value} {c.target}): {c.state.value}")
            for d in c.diff:
                console.print(f"  {d.message % dict(d.params)}  [{d.owner}]", markup=False)
            for check in c.checks:
                console.print(f"  check {check.name}: {'passed' if check.passed else 'FAILED'}")
            for a in c.approvals:
                console.print(f"  approved for {a.party} by {a.approver_name}")

        try:
            asyncio.run(main())
        except DomainError as exc:
            console.print(f"[red]{exc.detail}[/red]")
            raise typer.Exit(1) from exc

    @app.command("migration")
    def migration(change_id: Annotated[str, typer.Argument(help="Change request id.")]) -> None:
        """The dry run of a published change's migration (ADR 0058): every running application
        on the replaced version, what moving it would change or why it stays, and those moved.
        Nothing is written; the service owner runs it in the back office."""

        async def main() -> None:
            container: Container = compose().build_container()
            try:
                plan = await plan_migration(container.uow(), None, change_id)
            finally:
                await container.database.dispose()
            console.print(
                f"[bold]{plan.change.title}[/bold]: version {plan.from_version} → "
                f"{plan.to_version} ({len(plan.plans)} running)"
            )
            for p in plan.plans:
                if p.refusal is not None:
                    console.print(
                        f"  {p.reference}  not moved: {p.refusal.render('en')}", markup=False
                    )
                    continue
                console.print(f"  {p.reference}  would move:", markup=False)
                for line in p.changes:
                    console.print(f"      {line.render('en')}", markup=False)
            for m in plan.moved:
                state = (
                    f"moved back {m.reversed_at.date().isoformat()} by {m.reversed_by_name}"
                    if m.reversed_at
                    else (m.stays.render("en") if m.stays else "can move back")
                )
                console.print(
                    f"  {m.reference}  moved {m.moved_at.date().isoformat()} by "
                    f"{m.moved_by_name}: {state}",
                    markup=False,
                )

        try:
            asyncio.run(main())
        except DomainError as exc:
            console.print(f"[red]{exc.detail}[/red]")
            raise typer.Exit(1) from exc

    @app.command("publish-due")
    def publish_due() -> None:
        """Publish every approved change whose effective date has come (the worker's job)."""

        async def main() -> int:
            module = compose()
            container: Container = module.build_container()
            try:
                ws = module.governance_workspace(container)
                return await publish_due_changes(container.uow(), container.clock, ws)
            finally:
                await container.database.dispose()

        console.print(f"{asyncio.run(main())} change(s) published")

    return app
