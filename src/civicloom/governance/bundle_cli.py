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

from civicloom.audit import KeysMissing, load_or_create_keyring
from civicloom.governance.bundle_domain import BundleRefused
from civicloom.governance.bundles import (
    BundleRecord,
    ExportedBundle,
    ImportedBundle,
    export_bundle,
    exported_copy,
    import_bundle,
    list_bundles,
    trusted_keys,
)
from civicloom.kernel import DomainError, Principal
from civicloom.runtime import Container
from civicloom.settings import ConfigurationError, Profile

Compose = Callable[[], Any]  # returns the bootstrap module: build_container
MAX_BUNDLE_BYTES = 32 * 1024 * 1024  # rules, forms and templates; never documents


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
        out: Annotated[Path, typer.Option("--out", help="The bundle file to write.")],
        changes: Annotated[
            str, typer.Option("--changes", help="Approved change request ids, comma-separated.")
        ] = "",
        again: Annotated[
            int | None,
            typer.Option(
                "--again",
                min=1,
                help="Write this environment's bundle with this sequence again, byte for byte "
                "(a lost file), instead of a new bundle.",
            ),
        ] = None,
    ) -> None:
        """Sign the approved changes as this environment's next bundle."""
        ids = [c.strip() for c in changes.split(",") if c.strip()]
        if again is not None:
            if ids:
                typer.echo("--again: give either --changes or --again, not both", err=True)
                raise typer.Exit(2)
            _copy(compose, again, out)
            return
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
        except KeysMissing as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
        typer.echo(
            f"bundle {done.sequence} of {done.environment} ({done.bundle_id}) with "
            f"{len(done.change_ids)} change(s) written to {done.path}"
        )

    @app.command("import")
    def import_(
        path: Annotated[Path, typer.Argument(help="The bundle file.", exists=True, dir_okay=False)],
    ) -> None:
        """Verify a bundle from a trusted environment and queue its changes for approval here."""
        if path.stat().st_size > MAX_BUNDLE_BYTES:
            typer.echo(
                f"{path}: bundle refused (malformed): larger than {MAX_BUNDLE_BYTES} bytes",
                err=True,
            )
            raise typer.Exit(1)
        # a byte that is not UTF-8 is kept as U+FFFD, which no signed bundle contains
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

    @app.command("list")
    def list_() -> None:
        """Every bundle exported from or imported into this deployment."""

        async def main() -> list[BundleRecord]:
            container: Container = compose().build_container()
            try:
                return await list_bundles(container.uow())
            finally:
                await container.database.dispose()

        records = asyncio.run(main())
        if not records:
            typer.echo("no bundle exported or imported yet")
        for r in records:
            what = "exported as" if r.direction == "export" else "imported from"
            typer.echo(
                f"{r.recorded_at:%Y-%m-%d %H:%M} {what} {r.environment} #{r.sequence} "
                f"{r.bundle_id} by {r.actor}: " + ", ".join(r.local_change_ids)
            )

    return app


def _copy(compose: Compose, sequence: int, out: Path) -> None:
    async def main() -> tuple[str, tuple[str, str]]:
        container: Container = compose().build_container()
        try:
            environment = container.settings.environment_name
            return environment, await exported_copy(container.uow(), environment, sequence)
        finally:
            await container.database.dispose()

    try:
        environment, (bundle_id, signed) = asyncio.run(main())
    except DomainError as exc:
        typer.echo(f"--again: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    out.write_text(signed, encoding="ascii")
    typer.echo(f"bundle {sequence} of {environment} ({bundle_id}) written again to {out}")
