"""``civicloom funding rebuild``: rebuild the daily usage facts of a range of days.

The composition root is handed in (``compose``) so this module never imports ``bootstrap``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

import typer

from civicloom.funding.services import rebuild_days
from civicloom.runtime import Container

Compose = Callable[[], Any]  # returns the bootstrap module: build_container


def _day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        typer.echo(f"{name}: must be a date like 2026-11-01", err=True)
        raise typer.Exit(2) from None


def build_app(compose: Compose) -> typer.Typer:
    """The ``funding`` sub-app."""
    app = typer.Typer(
        help="Funding shared platforms: usage facts, tariffs, statements.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
    )

    @app.command("rebuild")
    def rebuild(
        start: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD).")],
        end: Annotated[str, typer.Option("--to", help="Last day, included (YYYY-MM-DD).")],
    ) -> None:
        """Recompute the usage facts of every day in the range (idempotent)."""
        first, last = _day(start, "--from"), _day(end, "--to")
        if last < first:
            typer.echo("--to: is before --from", err=True)
            raise typer.Exit(2)

        async def main() -> int:
            container: Container = compose().build_container()
            try:
                return len(await rebuild_days(container.uow(), first, last))
            finally:
                await container.database.dispose()

        typer.echo(f"{asyncio.run(main())} fact rows for {first} to {last}")

    return app
