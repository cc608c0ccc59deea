"""``civicloom kpi report`` and ``civicloom demo loadgen``.

The composition root is handed in (``compose``) so this module never imports ``bootstrap``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Annotated, Any, Protocol

import typer
from rich.console import Console
from rich.table import Table

from civicloom.applications import StepRunner
from civicloom.demo import load_demo
from civicloom.demo.loadgen import (
    SERVICE,
    SimulatedClock,
    demo_gateway,
    gateway_reachable,
    run_loadgen,
)
from civicloom.kernel import DomainError, ValidationFailed
from civicloom.kpis.api import to_csv
from civicloom.kpis.config import load_kpi_config
from civicloom.kpis.domain import KpiReport
from civicloom.kpis.services import parse_period, service_kpis
from civicloom.runtime import Container

console = Console()


class EngineWorker(Protocol):
    """What the load generator needs of a worker (``civicloom.worker.Worker``)."""

    container: Container
    runner: StepRunner | None
    resources: list[Callable[[], Awaitable[None]]]

    async def run_once(self) -> int:
        """One cycle of engine work."""
        ...


Compose = Callable[[], Any]  # returns the bootstrap module: build_container, build_worker


def print_report(report: KpiReport, out: Console = console) -> None:
    """The report as a Rich table (the same rows as the CSV export)."""
    table = Table("section", "key", "department", "value", title=f"KPIs: {report.service}")
    for row in report.rows():
        table.add_row(*row)
    out.print(table)


def _fail(exc: DomainError) -> None:
    errors = getattr(exc, "errors", [])
    for e in errors:
        console.print(f"[red]{e.field}: {e.message}[/red] ({e.rule})")
    if not errors:
        console.print(f"[red]{exc}[/red]")
    raise typer.Exit(2)


def build_app(compose: Compose) -> typer.Typer:
    """The ``kpi`` sub-app."""
    app = typer.Typer(
        help="Service KPIs from the platform's own records.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
    )

    @app.command("report")
    def report(
        service: Annotated[str, typer.Option(help="Service id, e.g. open-a-restaurant.")],
        start: Annotated[
            str | None, typer.Option("--from", help="First submission day (YYYY-MM-DD).")
        ] = None,
        end: Annotated[
            str | None, typer.Option("--to", help="Last submission day (YYYY-MM-DD).")
        ] = None,
        csv: Annotated[bool, typer.Option("--csv", help="Print CSV instead of a table.")] = False,
    ) -> None:
        """Print a service's KPIs for a period as a table (the dashboard's figures)."""

        async def main() -> KpiReport:
            container: Container = compose().build_container()
            try:
                period = parse_period(container.clock, start, end)
                config = load_kpi_config(container.settings.blueprints_dir)
                return await service_kpis(container.uow(), container.clock, config, service, period)
            finally:
                await container.database.dispose()

        try:
            result = asyncio.run(main())
        except DomainError as exc:
            _fail(exc)
            return
        if csv:
            typer.echo(to_csv(result), nl=False)
        else:
            print_report(result)

    return app


def loadgen_command(compose: Compose) -> Callable[..., None]:
    """``civicloom demo loadgen N``."""

    def loadgen(
        count: Annotated[int, typer.Argument(min=1, max=5000, help="How many applications.")],
        seed: Annotated[int, typer.Option(help="Random seed (same seed, same applicants).")] = 7,
        departments: Annotated[
            str,
            typer.Option(help="auto (simulators when they answer), simulators or in-process."),
        ] = "auto",
        patience: Annotated[
            float, typer.Option(help="Seconds to wait for a department's late answer.")
        ] = 60.0,
    ) -> None:
        """Run N realistic "Open a restaurant" applications end to end, officers deciding."""
        if departments not in ("auto", "simulators", "in-process"):
            console.print("[red]--departments: choose auto, simulators or in-process[/red]")
            raise typer.Exit(2)
        asyncio.run(_loadgen(compose, count, seed, departments, patience))

    return loadgen


async def _loadgen(
    compose: Compose, count: int, seed: int, departments: str, patience: float
) -> None:
    worker: EngineWorker = compose().build_worker(worker_id="loadgen")
    container, runner = worker.container, worker.runner
    assert runner is not None
    assert runner.gateway is not None
    try:
        await load_demo(container, progress=lambda _: None)
        reachable = departments != "in-process" and await gateway_reachable(runner.gateway)
        if departments == "simulators" and not reachable:
            console.print("[red]the department simulators do not answer (civicloom run?)[/red]")
            raise typer.Exit(1)
        clock = None if reachable else SimulatedClock()
        if clock is not None:
            runner.gateway = demo_gateway(clock, seed)
        mode = "department simulators via connectors" if reachable else "in-process departments"
        console.print(
            f"loadgen: {count} application(s) of {SERVICE} through {mode}", soft_wrap=True
        )
        result = await run_loadgen(
            container,
            runner.gateway,
            worker.run_once,
            count,
            seed=seed,
            clock=clock,
            patience=patience,
            progress=lambda line: console.print(line, highlight=False),
        )
        _summary(result.mode, result.outcomes, result.officer_decisions, result.payments)
        first = container.clock.now().date() - timedelta(days=min(3600, 2 * count + 60))
        period = parse_period(container.clock, first.isoformat(), None)
        config = load_kpi_config(container.settings.blueprints_dir)
        print_report(await service_kpis(container.uow(), container.clock, config, SERVICE, period))
    except ValidationFailed as exc:
        _fail(exc)
    finally:
        for close in worker.resources:
            await close()
        await container.database.dispose()


def _summary(mode: str, outcomes: dict[str, int], decisions: int, payments: int) -> None:
    table = Table("outcome", "applications", title=f"loadgen ({mode})")
    rows: Sequence[tuple[str, int]] = sorted(outcomes.items())
    for state, n in rows:
        table.add_row(state, str(n))
    console.print(table)
    console.print(f"officer decisions: {decisions}, payments: {payments}")
