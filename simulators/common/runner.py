"""Start a simulator's ASGI app under uvicorn."""

from __future__ import annotations

import logging
from typing import Any

import uvicorn

from simulators.common.config import CommonOptions


def configure_logging(level: str) -> None:
    """Configure plain stdlib logging (never logs request bodies)."""
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )


def serve(app: Any, options: CommonOptions) -> None:
    """Run ``app`` on the configured host and port until interrupted."""
    config = uvicorn.Config(
        app,
        host=options.host,
        port=options.port,
        log_level="warning",
        access_log=False,
        lifespan="on",
    )
    uvicorn.Server(config).run()
