"""structlog JSON logging with context (request, application, department ids) bound per task."""

from __future__ import annotations

import logging
import sys
import traceback
from typing import Any, cast

import structlog
from opentelemetry import trace

# Keys whose values must never reach a log line, whatever a caller binds.
_REDACTED_KEYS = frozenset(
    {
        "password",
        "secret",
        "token",
        "authorization",
        "cookie",
        "data",
        "body",
        "national_id",
        "headers",
        "params",
        "parameters",
        "email",
        "phone",
        "tax_id",
    }
)


def _redact(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    for key in list(event):
        if key.lower() in _REDACTED_KEYS:
            event[key] = "[redacted]"
    return event


def _describe_exception(exc: BaseException | None) -> str:
    """Where an exception happened: each frame's file, line and function, and the exception's
    type, for the whole chain. Never its message or local variables, which can hold personal
    data, headers or request bodies (ADR 0035)."""
    parts: list[str] = []
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        frames = traceback.extract_tb(exc.__traceback__)
        lines = [f"  {f.filename}:{f.lineno} in {f.name}" for f in frames]
        lines.append(f"{type(exc).__module__}.{type(exc).__qualname__}")
        parts.append("\n".join(lines))
        exc = exc.__cause__ or exc.__context__
    return "\n-- which was raised while handling --\n".join(reversed(parts))


def _safe_exceptions(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    """Replace ``exc_info`` by a traceback without messages or locals."""
    exc_info = event.pop("exc_info", None)
    if not exc_info:
        return event
    if isinstance(exc_info, BaseException):
        error: BaseException | None = exc_info
    elif isinstance(exc_info, tuple):
        error = exc_info[1]
    else:
        error = sys.exc_info()[1]
    if error is not None:
        event["exception"] = _describe_exception(error)
    return event


def _add_trace_ids(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    ctx = trace.get_current_span().get_span_context()
    if ctx.is_valid:
        event["trace_id"] = format(ctx.trace_id, "032x")
        event["span_id"] = format(ctx.span_id, "016x")
    return event


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is now (test capture and daemonising replace it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(level: str = "INFO", json: bool = True) -> None:
    """Route structlog and stdlib logging to stderr as JSON (or console) lines."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_trace_ids,
        _safe_exceptions,
        _redact,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)
    )
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Quiet libraries, and drivers whose debug lines carry every statement's bound values
    # (application data): they never log below WARNING, whatever the level.
    for noisy in ("uvicorn.access", "aiormq", "aio_pika", "aiosqlite", "asyncpg"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    """A structlog logger; context bound with ``structlog.contextvars`` is merged in."""
    return cast(structlog.stdlib.BoundLogger, structlog.get_logger(name))
