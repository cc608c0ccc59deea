"""``civicloom bundle export|import``: promote approved changes between environments (ADR 0052).

The composition root is handed in (``compose``) so this module never imports ``bootstrap``.
"""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from civicloom.audit import load_or_create_keyring
from civicloom.governance.bundle_domain import BundleRefused
from civicloom.governance.bundles import (
    ExportedBundle,
    ImportedBundle,
    export_bundle,
    import_bundle,
    trusted_keys,
)
from civicloom.kernel import DomainError, Principal
from civicloom.runtime import Container
from civicloom.settings import ConfigurationError, Profile

Compose = Callable[[], Any]  # returns the bootstrap module: build_container


def operator() -> Principal:
    """The operator running a bundle command, as audit entries and change requests name them
    (``cli:<operating-system user>``)."""
    user = getpass.getuser()
    return Principal(user, user, frozenset({"operator"}), None, "cli")


def build_app(compose: Compose) -> typer.Typer:
    """The ``bundle`` sub-app."""
    app = typer.Typer(
        help="Promote approved changes between environments as signed bundles.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
    )

    @app.command("export")
    def export(
        changes: Annotated[
            str, typer.Option("--changes", help="Approved change request ids, comma-separated.")
        ],
        out: Annotated[Path, typer.Option("--out", help="The bundle file to write.")],
    ) -> None:
        """Sign the approved changes as this environment's next bundle."""
        ids = [c.strip() for c in changes.split(",") if c.strip()]
        if not ids:
            typer.echo("--changes: give at least one change request id", err=True)
            raise typer.Exit(2)

        async def main() -> ExportedBundle:
            container: Container = compose().build_container()
            try:
                settings = container.settings
                keyring = load_or_create_keyring(
                    settings.effective_keys_dir, settings.profile is not Profile.PRODUCTION
                )
                return await export_bundle(
                    container.uow(),
                    keyring,
                    environment=settings.environment_name,
                    change_ids=ids,
                    out=out,
                    actor=operator().audit_name,
                    now=container.clock.now(),
                )
            finally:
                await container.database.dispose()

        try:
            done = asyncio.run(main())
        except DomainError as exc:
            typer.echo(f"--changes: {exc.detail}", err=True)
            raise typer.Exit(1) from None
        typer.echo(
            f"bundle {done.sequence} of {done.environment} ({done.bundle_id}) with "
            f"{len(done.change_ids)} change(s) written to {done.path}"
        )

    @app.command("import")
    def import_(
        path: Annotated[Path, typer.Argument(help="The bundle file.", exists=True, dir_okay=False)],
    ) -> None:
        """Verify a bundle from a trusted environment and queue its changes for approval here."""
        text = path.read_text(encoding="utf-8", errors="replace")

        async def main() -> ImportedBundle:
            container: Container = compose().build_container()
            try:
                settings = container.settings
                return await import_bundle(
                    container.uow(),
                    text,
                    environment=settings.environment_name,
                    trusted=trusted_keys(settings.bundle_trusted_sources),
                    actor=operator(),
                    clock=container.clock,
                )
            finally:
                await container.database.dispose()

        try:
            done = asyncio.run(main())
        except BundleRefused as refused:
            typer.echo(f"{path}: {refused}", err=True)
            raise typer.Exit(1) from None
        except ConfigurationError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
        typer.echo(
            f"bundle {done.sequence} from {done.source_environment} imported: "
            f"{len(done.local_change_ids)} change request(s) await checks and approval here: "
            + ", ".join(done.local_change_ids)
        )

    return app
