"""``civicloom govstack …`` and the GovStack listeners of ``civicloom serve --govstack-port``.

The composition root is passed in (``compose``), as the other modules' CLIs do: this package
sits below ``civicloom.bootstrap``.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer

from civicloom.audit import cli_actor
from civicloom.govstack.caller import clients_file
from civicloom.govstack.clients import (
    CONFORMANCE_TEST_SCOPES,
    CONFORMANCE_TESTS_CLIENT,
    ProductionRefused,
    register_client,
    register_subsystem,
    set_room_subscriber,
)
from civicloom.govstack.fixtures import load_all
from civicloom.govstack.fixtures.messaging import SUITE_KEY
from civicloom.govstack.listener import create_govstack_app
from civicloom.kernel import NotFound, ValidationFailed
from civicloom.runtime import Container
from civicloom.settings import get_settings

Compose = Callable[[], Any]


def build_app(compose: Compose) -> typer.Typer:
    """The ``govstack`` sub-app."""
    app = typer.Typer(
        help="GovStack building blocks: conformance fixtures.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
    )

    @app.command("fixtures")
    def fixtures(
        key_file: Annotated[
            Path | None,
            typer.Option(help="Write the API key the conformance tests send into this file."),
        ] = None,
    ) -> None:
        """Load the records the published GovStack suites expect (safe to repeat; refused in
        production): machine clients, their aliases and IM subsystems, each building block's
        fixed ids. Prints what the conformance run needs."""

        test_key = f"gs_{secrets.token_urlsafe(24)}"

        async def main() -> list[str]:
            root = compose()
            container: Container = root.build_container()
            registry = root.build_registry(container.settings)
            root.wire_departments(
                container, registry, root.build_gateway(container.settings, registry)
            )
            try:
                loaded = await load_all(container)
                # the in-repo conformance tests' client; a fresh alias each run (the file
                # keeps only its hash)
                await register_client(
                    container,
                    name=CONFORMANCE_TESTS_CLIENT,
                    department="local-admin",
                    scopes=list(CONFORMANCE_TEST_SCOPES),
                    aliases=(test_key,),
                )
                return loaded
            finally:
                await container.close()
                await container.database.dispose()

        try:
            loaded = asyncio.run(main())
        except ProductionRefused as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
        settings = get_settings()
        typer.echo(f"loaded: {', '.join(loaded)}")
        typer.echo(f"registrations: {clients_file(settings)}")
        typer.echo(f"suites' messaging key: {SUITE_KEY}")
        typer.echo(f"GOVSTACK_API_KEY={test_key}")
        if key_file is not None:
            key_file.parent.mkdir(parents=True, exist_ok=True)
            key_file.touch(mode=0o600)
            key_file.write_text(test_key + "\n", encoding="utf-8")

    @app.command("register-subsystem")
    def register_subsystem_command(
        client: Annotated[str, typer.Option(help="The machine client's name (apikeys list).")],
        subsystem: Annotated[
            list[str],
            typer.Option(help="An IM subsystem INSTANCE/CLASS/MEMBER/SUBSYSTEM (its room)."),
        ],
        push_endpoint: Annotated[
            list[str] | None,
            typer.Option(help="A URL its pub/sub PUSH subscriptions may deliver to."),
        ] = None,
    ) -> None:
        """Register IM subsystems (pub/sub rooms) and push endpoints for a machine client, in
        the registrations file (``govstack_clients_file``); audited, allowed in production."""

        async def main() -> str:
            container: Container = compose().build_container()
            try:
                return await register_subsystem(
                    container,
                    client_name=client,
                    subsystems=tuple(subsystem),
                    push_endpoints=tuple(push_endpoint or ()),
                    actor=cli_actor(),
                )
            finally:
                await container.close()
                await container.database.dispose()

        try:
            prefix = asyncio.run(main())
        except (NotFound, ValidationFailed) as exc:
            typer.echo(f"error: {exc}", err=True)
            for error in getattr(exc, "errors", []):
                typer.echo(f"  {error.field}: {error.message}", err=True)
            raise typer.Exit(2) from exc
        typer.echo(f"registered {', '.join(subsystem)} for client {prefix}")

    @app.command("allow-subscriber")
    def allow_subscriber_command(
        room: Annotated[str, typer.Option(help="The room: INSTANCE/CLASS/MEMBER/SUBSYSTEM.")],
        client: Annotated[str, typer.Option(help="The machine client's name (apikeys list).")],
        remove: Annotated[
            bool, typer.Option("--remove", help="Take it off the list (its subscriptions end).")
        ] = False,
    ) -> None:
        """Allow a machine client to subscribe to a pub/sub room, or take it off the room's
        list (ADR 0057); audited, allowed in production."""

        async def main() -> bool:
            container: Container = compose().build_container()
            try:
                return await set_room_subscriber(
                    container, room=room, client_name=client, allowed=not remove, actor=cli_actor()
                )
            finally:
                await container.close()
                await container.database.dispose()

        try:
            changed = asyncio.run(main())
        except (NotFound, ValidationFailed) as exc:
            typer.echo(f"error: {exc}", err=True)
            for error in getattr(exc, "errors", []):
                typer.echo(f"  {error.field}: {error.message}", err=True)
            raise typer.Exit(2) from exc
        if remove:
            typer.echo(f"{client} may no longer subscribe to {room}")
        else:
            typer.echo(f"{client} may subscribe to {room}" + ("" if changed else " (already)"))

    return app


def serve_with_listeners(compose: Compose, host: str, port: int, govstack_ports: list[int]) -> None:
    """The main app on ``port`` and the GovStack facades on each of ``govstack_ports``, in one
    process and one event loop, around one container; Ctrl-C or SIGTERM stops them all."""
    import uvicorn

    main_app = compose().build_app()
    container: Container = main_app.state.container
    options: dict[str, Any] = {
        "host": host,
        "log_config": None,
        "access_log": False,
        "proxy_headers": False,  # settings.trusted_proxies (ADR 0062)
    }
    followers = [
        uvicorn.Server(
            uvicorn.Config(create_govstack_app(container, own_container=False), port=p, **options)
        )
        for p in govstack_ports
    ]

    class Leader(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            super().handle_exit(sig, frame)
            for follower in followers:
                follower.handle_exit(sig, frame)

    leader = Leader(uvicorn.Config(main_app, port=port, **options))

    async def run() -> None:
        # Only the leader captures the signals (one handler per signal), then stops the others.
        await asyncio.gather(leader.serve(), *(f._serve() for f in followers))

    asyncio.run(run())
