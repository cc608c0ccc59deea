"""Local Administration simulator: FastAPI admin API + SOAP at /soap + batch exchange."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, MutableMapping
from pathlib import Path
from typing import Any

from a2wsgi import WSGIMiddleware
from fastapi import FastAPI

from simulators.common.admin import admin_router, delay_answers
from simulators.common.config import CommonOptions, SimArgumentParser, common_options
from simulators.common.faults import FaultInjector, load_faults_file
from simulators.common.ledger import Ledger
from simulators.common.runner import configure_logging, serve
from simulators.local_admin.batch import BATCH_FAULTS, BatchExchange
from simulators.local_admin.registry import LocalAdminRegistry
from simulators.local_admin.soap import SoapState, build_wsgi

DEPARTMENT = "local_admin"
log = logging.getLogger("simulators.local_admin")
Scope = MutableMapping[str, Any]


def build_app(
    options: CommonOptions,
    exchange_dir: Path | None = None,
    batch_interval: float = 1.0,
    batch_secret: str = "",
) -> FastAPI:
    """Create the local-admin simulator application (the batch exchange needs its secret)."""
    if exchange_dir is not None and not batch_secret:
        raise ValueError("the batch exchange needs the batch secret it shares with the platform")
    ledger = Ledger(options.data_dir / "ledger.sqlite")
    faults = FaultInjector(BATCH_FAULTS, options.seed, load_faults_file(options.faults_file))
    registry = LocalAdminRegistry(ledger)
    exchange = (
        BatchExchange(exchange_dir, registry, ledger, faults, batch_secret)
        if exchange_dir is not None
        else None
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(exchange.run(batch_interval)) if exchange else None
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def on_reset() -> None:
        if exchange is not None:
            exchange.deferred.clear()

    app = FastAPI(title="Local Administration simulator", lifespan=lifespan)
    app.include_router(admin_router(DEPARTMENT, ledger, faults, on_reset))
    delay_answers(app, faults)
    soap = WSGIMiddleware(build_wsgi(SoapState(registry, ledger, faults)))
    app.mount("/soap", soap)  # type: ignore[arg-type]

    return app


class SoapPathFix:
    """ASGI wrapper routing exactly ``/soap`` (and ``/soap?wsdl``) to the SOAP app."""

    def __init__(self, app: FastAPI) -> None:
        """Wrap ``app``."""
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        """Rewrite ``/soap`` to ``/soap/`` before routing."""
        if scope["type"] == "http" and scope["path"] == "/soap":
            scope = {**scope, "path": "/soap/", "raw_path": b"/soap/"}
        await self.app(scope, receive, send)


def main(argv: list[str] | None = None) -> None:
    """Parse options and serve the local-admin simulator."""
    parser = SimArgumentParser(DEPARTMENT)
    parser.option("--exchange-dir", default=None, help="batch exchange root directory")
    parser.option("--batch-interval", type=float, default=1.0, help="poll interval, seconds")
    parser.option("--batch-secret", default=None, help="HMAC secret of the batch files")
    ns = parser.parse_args(argv)
    if ns.exchange_dir and not ns.batch_secret:
        parser.error(
            "--batch-secret (or SIM_LOCAL_ADMIN_BATCH_SECRET) is required with an exchange"
        )
    options = common_options(DEPARTMENT, ns)
    configure_logging(options.log_level)
    exchange = Path(ns.exchange_dir) if ns.exchange_dir else None
    app = build_app(options, exchange, float(ns.batch_interval), str(ns.batch_secret or ""))
    serve(SoapPathFix(app), options)
