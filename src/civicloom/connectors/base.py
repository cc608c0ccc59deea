"""What every connector plugin shares: its build context, typed options and safe logging."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from secrets import token_urlsafe
from typing import Any, TypeVar

from opentelemetry import propagate
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from civicloom.connectors.domain import CapabilitySpec, ConnectorSpec
from civicloom.departments import CapabilityCall, HealthReport, PermanentError
from civicloom.kernel import FieldError, ValidationFailed, sha256_hex
from civicloom.observability import get_logger
from civicloom.settings import Profile, Settings

log = get_logger("civicloom.connectors")
OptionsT = TypeVar("OptionsT", bound=BaseModel)


def dev_secret(settings: Settings, name: str) -> str:
    """A development secret shared by every process on this ``var_dir``, generated on first use.

    Only for the connector secrets a declared simulator shares with the platform
    (``blueprints/simulators.yaml``), and never in production, where every secret must come
    from ``CIVICLOOM_CONNECTOR_SECRETS``.
    """
    if settings.profile is Profile.PRODUCTION:
        raise ValueError("production uses no development secrets")
    folder = settings.var_dir / "dev-secrets"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    try:  # O_EXCL: of two processes starting at once, one writes and both read its value
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(token_urlsafe(32))
    for _ in range(50):  # the other process may be between create and write
        value = path.read_text(encoding="utf-8").strip()
        if value:
            return value
        time.sleep(0.01)
    raise ValueError(f"development secret {path} is empty")


def dev_secret_names(settings: Settings) -> frozenset[str]:
    """Connector secrets that may be generated outside production: those simulators share."""
    return frozenset(n for sim in settings.simulators() for n in sim.connector_secrets)


class PluginOptions(BaseModel):
    """Base of every plugin's typed options: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass(frozen=True)
class ConnectorContext:
    """What a plugin factory receives to build one department's connector."""

    department: str
    name: str
    spec: ConnectorSpec
    capabilities: dict[str, CapabilitySpec]
    settings: Settings
    base_url: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)

    def options(self, model: type[OptionsT]) -> OptionsT:
        """The spec's options (plus test overrides) validated against the plugin's model."""
        raw = {**self.spec.options, **self.overrides}
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            errors = [
                FieldError(
                    f"{self.department}:connector.options." + ".".join(str(p) for p in e["loc"]),
                    e["type"],
                    e["msg"],
                )
                for e in exc.errors()
            ]
            raise ValidationFailed(
                errors, f"{self.department} connector options are invalid"
            ) from exc

    def secret(self, name: str | None) -> str | None:
        """Resolve a named secret from settings; dev placeholders only outside production."""
        if not name:
            return None
        found = self.settings.connector_secrets.get(name)
        if found is not None:  # SecretStr, or str when settings were copied without validation
            return found.get_secret_value() if isinstance(found, SecretStr) else str(found)
        if self.settings.profile is not Profile.PRODUCTION and name in dev_secret_names(
            self.settings
        ):
            return dev_secret(self.settings, name)
        raise ValidationFailed(
            [FieldError(f"CIVICLOOM_CONNECTOR_SECRETS.{name}", "required", "secret is not set")],
            f"{self.department} connector needs secret {name!r}",
        )

    def capability(self, call: CapabilityCall) -> CapabilitySpec:
        """The capability a call names, or a permanent error."""
        spec = self.capabilities.get(call.capability)
        if spec is None:
            raise PermanentError(f"{self.department} has no capability {call.capability!r}")
        return spec


def traceparent_of(call: CapabilityCall) -> str | None:
    """The call's W3C traceparent, or the current span's when the engine gave none."""
    if call.traceparent:
        return call.traceparent
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


def body_hash(data: bytes | str) -> str:
    """Short SHA-256 of a body: logged instead of the body, which may hold personal data."""
    return sha256_hex(data)[:16]


class Stopwatch:
    """Milliseconds since creation."""

    def __init__(self) -> None:
        self._start = time.perf_counter()

    @property
    def ms(self) -> float:
        """Elapsed milliseconds."""
        return round((time.perf_counter() - self._start) * 1000.0, 2)


def log_exchange(
    call: CapabilityCall,
    kind: str,
    *,
    outcome: str,
    elapsed_ms: float,
    request: bytes | str | None = None,
    response: bytes | str | None = None,
    **meta: Any,
) -> None:
    """Log one exchange with a department: metadata and body hashes, never the bodies."""
    log.info(
        "connector_exchange",
        department=call.department,
        capability=call.capability,
        connector=kind,
        key_sha256=body_hash(call.idempotency_key),  # the key answers a task: never logged
        outcome=outcome,
        elapsed_ms=elapsed_ms,
        request_sha256=body_hash(request) if request is not None else None,
        response_sha256=body_hash(response) if response is not None else None,
        **meta,
    )


def health(department: str, kind: str, ok: bool, detail: str, watch: Stopwatch) -> HealthReport:
    """Build a HealthReport."""
    return HealthReport(
        department=department, kind=kind, healthy=ok, detail=detail, latency_ms=watch.ms
    )
