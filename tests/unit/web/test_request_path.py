"""The request path's own cost stays out of the way (ADR 0077): the platform's dependencies run
on the event loop (no thread hand-off per request), and the metrics' cached label children
still count every request."""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts

from civicloom.app import create_app
from civicloom.bootstrap import build_container
from civicloom.settings import Profile, Settings


def _app(tmp_path: Path) -> Any:
    # The database is never reached: /healthz and unmatched paths need none.
    url = f"sqlite+aiosqlite:///{tmp_path / 'never.db'}"
    return create_app(
        build_container(Settings(profile=Profile.TEST, database_url=url, var_dir=tmp_path))
    )


def _calls(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def test_the_web_layers_dependencies_never_hop_to_a_thread(tmp_path: Path) -> None:
    """FastAPI runs a plain ``def`` dependency in its thread pool on every request."""
    sync = set()
    seen = 0
    for context in iter_route_contexts(_app(tmp_path).routes):
        dependant = getattr(context, "dependant", None)
        if dependant is None:
            continue
        for call in _calls(dependant):
            function = call if inspect.isfunction(call) else type(call).__call__
            if not function.__module__.startswith("civicloom.web"):
                continue
            seen += 1
            if not inspect.iscoroutinefunction(function):
                sync.add(f"{function.__module__}.{function.__qualname__}")
    assert seen > 100  # the app-wide guard on every route, ContainerDep on most
    assert sorted(sync) == []


HEALTHZ = {"method": "GET", "route": "/healthz", "status": "200"}
UNMATCHED = {"method": "GET", "route": "<unmatched>", "status": "404"}
HEALTHZ_TIMED = {"method": "GET", "route": "/healthz"}


async def test_repeated_requests_are_each_counted_and_timed(tmp_path: Path) -> None:
    app = _app(tmp_path)
    registry = app.state.container.metrics.registry  # the process's: other tests count too

    def counts() -> tuple[float, float, float]:
        def value(name: str, labels: dict[str, str]) -> float:
            return registry.get_sample_value(name, labels) or 0.0

        return (
            value("civicloom_http_requests_total", HEALTHZ),
            value("civicloom_http_request_duration_seconds_count", HEALTHZ_TIMED),
            value("civicloom_http_requests_total", UNMATCHED),
        )

    before = counts()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for _ in range(3):
            assert (await client.get("/healthz")).status_code == 200
        for _ in range(2):
            assert (await client.get("/no/such/page")).status_code == 404
    after = counts()
    assert tuple(a - b for a, b in zip(after, before, strict=True)) == (3.0, 3.0, 2.0)


async def test_a_request_that_starts_a_trace_still_logs_its_trace_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without an exporter the request's span has real ids (ADR 0077):
    the log line carries them, and a second request gets a trace of its own."""
    transport = httpx.ASGITransport(app=_app(tmp_path))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for _ in range(2):
            assert (await client.get("/healthz")).status_code == 200
    lines = [
        json.loads(line)
        for line in capsys.readouterr().err.splitlines()
        if line.startswith("{") and '"http_request"' in line
    ]
    trace_ids = [line["trace_id"] for line in lines[-2:]]
    assert all(re.fullmatch("[0-9a-f]{32}", t) and t != "0" * 32 for t in trace_ids), lines
    assert trace_ids[0] != trace_ids[1]


def test_a_trace_started_here_is_passed_on_as_sampled(tmp_path: Path) -> None:
    """With no exporter (the default), a trace this process starts is still marked sampled in
    the traceparent it passes on (ADR 0077's amendment): a department or worker that does
    export traces keeps its spans of it."""
    from opentelemetry import trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    _app(tmp_path)  # installs the process's tracer provider (otel_exporter=none)
    with trace.get_tracer("test").start_as_current_span("a request"):
        carrier: dict[str, str] = {}
        TraceContextTextMapPropagator().inject(carrier)
    flags = int(carrier["traceparent"].rsplit("-", 1)[1], 16)
    assert flags & 0x01 == 0x01, carrier  # the W3C "sampled" bit
