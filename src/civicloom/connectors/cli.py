"""``civicloom departments …``: the department systems behind the capabilities."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

import typer
from rich.console import Console
from rich.table import Table

from civicloom.settings import Settings, get_settings

SimulatorUrls = Callable[[Settings], Mapping[str, str]]
console = Console()


def build_app(simulator_urls: SimulatorUrls | None = None) -> typer.Typer:
    """The sub-app; ``simulator_urls`` says where ``civicloom run`` starts the simulators."""
    app = typer.Typer(
        help="Department systems, their connectors and capabilities.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
    )

    def registry_for(settings: Settings) -> object:
        from civicloom.connectors.registry import build_connectors
        from civicloom.departments import load_departments

        urls = dict(simulator_urls(settings)) if simulator_urls else {}
        return build_connectors(load_departments(settings.blueprints_dir), settings, urls)

    @app.command("check")
    def check() -> None:
        """Run every connector's health probe and show a table (exit 1 if any is unhealthy)."""
        from civicloom.connectors.registry import ConnectorRegistry

        registry = registry_for(get_settings())
        assert isinstance(registry, ConnectorRegistry)

        async def run() -> list[tuple[str, object]]:
            try:
                reports = await registry.check_all()
            finally:
                await registry.close()
            names = [name for (_, name) in sorted(registry.connectors)]
            return list(zip(names, reports, strict=True))

        rows = asyncio.run(run())
        table = Table("department", "connector", "kind", "healthy", "latency", "detail")
        healthy = True
        for name, report in rows:
            from civicloom.departments import HealthReport

            assert isinstance(report, HealthReport)
            healthy = healthy and report.healthy
            mark = "[green]yes[/green]" if report.healthy else "[red]no[/red]"
            table.add_row(
                report.department,
                name,
                report.kind,
                mark,
                f"{report.latency_ms:.0f} ms",
                report.detail,
            )
        console.print(table)
        raise typer.Exit(0 if healthy else 1)

    @app.command("capabilities")
    def capabilities() -> None:
        """List every declared capability and the connector that serves it."""
        from civicloom.connectors.registry import ConnectorRegistry

        registry = registry_for(get_settings())
        assert isinstance(registry, ConnectorRegistry)
        table = Table("capability", "department", "connector", "kind", "answers")
        for cap in sorted(registry.capabilities(), key=lambda c: c.name):
            kind = registry.connector_for(cap).kind
            answers = "later" if cap.asynchronous else "at once"
            table.add_row(cap.name, cap.department, cap.connector, kind, answers)
        console.print(table)

    return app


app = build_app()
