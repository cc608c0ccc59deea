"""A legacy department system behind a SOAP 1.1 service (zeep, run in a worker thread)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import requests
from pydantic import Field

from civicloom.connectors.base import (
    ConnectorContext,
    PluginOptions,
    Stopwatch,
    health,
    log_exchange,
    traceparent_of,
)
from civicloom.departments import (
    CallOutcome,
    CapabilityCall,
    CapabilityResult,
    ContractViolation,
    HealthReport,
    PermanentError,
    TransientError,
)


class SoapOptions(PluginOptions):
    """Typed options of the SOAP connector."""

    base_url: str | None = Field(None, description="Overrides the settings/simulator URL.")
    wsdl_path: str = "/soap?wsdl"
    endpoint_path: str = Field("/soap/", description="Where operations are posted.")
    timeout_seconds: float = Field(10.0, gt=0)
    idempotency_header: str = Field(
        "Idempotency-Key", description="HTTP header also carrying the key (besides the body)."
    )


class SoapBinding(PluginOptions):
    """How one capability maps onto a SOAP operation."""

    operation: str
    idempotency_argument: str | None = Field(
        None, description="Operation argument that carries the idempotency key."
    )
    result_field: str | None = Field(
        None, description="Output field for a scalar result, e.g. `reference`."
    )
    reference_field: str | None = None


def _plain(value: Any) -> Any:
    """zeep objects → plain dicts, dropping absent (None) fields so schemas can see them."""
    from zeep.helpers import serialize_object

    data = serialize_object(value, target_cls=dict)  # type: ignore[no-untyped-call]
    if isinstance(data, dict):
        return {k: _plain(v) for k, v in data.items() if v is not None}
    if isinstance(data, list):
        return [_plain(v) for v in data]
    return data


class SoapConnector:
    """Calls capabilities as SOAP operations; the WSDL is read once, on first use."""

    kind: str = "soap"

    def __init__(self, ctx: ConnectorContext) -> None:
        self.ctx = ctx
        self.department = ctx.department
        self.options = ctx.options(SoapOptions)
        # A missing URL is reported by check() and call(), so one unconfigured department
        # does not stop the others from being built.
        self.base_url = (self.options.base_url or ctx.base_url or "").rstrip("/")
        self.bindings = {
            name: SoapBinding.model_validate(cap.binding("soap"))
            for name, cap in ctx.capabilities.items()
            if cap.binding("soap")
        }
        self._service: Any = None
        self._client: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if not self.base_url:
            raise PermanentError(f"{self.department}: no base URL configured")
        from zeep import Client, Settings
        from zeep.transports import Transport

        with self._lock:
            if self._service is None:
                timeout = self.options.timeout_seconds
                transport = Transport(timeout=timeout, operation_timeout=timeout)  # type: ignore[no-untyped-call]
                client = Client(  # type: ignore[no-untyped-call]
                    self.base_url + self.options.wsdl_path,
                    transport=transport,
                    settings=Settings(strict=True, forbid_dtd=True, forbid_external=True),
                )
                service = next(iter(client.wsdl.services.values()))
                port = next(iter(service.ports.values()))
                address = self.base_url + self.options.endpoint_path
                self._service = client.create_service(  # type: ignore[no-untyped-call]
                    port.binding.name.text, address
                )
                self._client = client
            return self._service

    def _invoke(self, binding: SoapBinding, kwargs: dict[str, Any], headers: dict[str, str]) -> Any:
        service = self._load()
        with self._client.settings(extra_http_headers=headers):
            return getattr(service, binding.operation)(**kwargs)

    async def call(self, call: CapabilityCall) -> CapabilityResult:
        """Invoke the operation; Server faults are transient, Client faults permanent."""
        from zeep.exceptions import Error as ZeepError
        from zeep.exceptions import Fault, TransportError

        self.ctx.capability(call)
        binding = self.bindings.get(call.capability)
        if binding is None:
            raise PermanentError(f"{call.capability} has no soap binding")
        kwargs = dict(call.input)
        if binding.idempotency_argument:
            kwargs[binding.idempotency_argument] = call.idempotency_key
        headers = {self.options.idempotency_header: call.idempotency_key}
        traceparent = traceparent_of(call)
        if traceparent:
            headers["traceparent"] = traceparent
        watch = Stopwatch()
        request_fingerprint = repr(sorted(kwargs.items()))
        try:
            result = await asyncio.wait_for(
                asyncio.to_thread(self._invoke, binding, kwargs, headers),
                timeout=min(call.timeout_seconds, self.options.timeout_seconds) + 1.0,
            )
        except Fault as exc:
            code = str(exc.code or "")
            transient = "Server" in code
            log_exchange(
                call,
                self.kind,
                outcome="transient" if transient else "refused",
                elapsed_ms=watch.ms,
                request=request_fingerprint,
                fault=code,
            )
            error = TransientError if transient else PermanentError
            raise error(f"{self.department} SOAP fault {code}: {exc.message}") from exc
        except (TimeoutError, requests.RequestException, TransportError) as exc:
            log_exchange(
                call,
                self.kind,
                outcome="transient",
                elapsed_ms=watch.ms,
                request=request_fingerprint,
                error=type(exc).__name__,
            )
            with self._lock:
                if isinstance(exc, TransportError | requests.ConnectionError):
                    self._service = None  # re-read the WSDL when the system is back
            raise TransientError(f"{self.department}: {type(exc).__name__}") from exc
        except (ZeepError, ValueError) as exc:
            log_exchange(
                call,
                self.kind,
                outcome="contract_violation",
                elapsed_ms=watch.ms,
                request=request_fingerprint,
                error=type(exc).__name__,
            )
            raise ContractViolation(f"{call.capability}: unreadable SOAP answer ({exc})") from exc
        plain = _plain(result)
        if binding.result_field:
            output = {binding.result_field: plain} if plain not in (None, "") else {}
        elif isinstance(plain, dict):
            output = plain
        else:
            raise ContractViolation(f"{call.capability}: expected a structure, got {type(plain)}")
        log_exchange(
            call,
            self.kind,
            outcome="completed",
            elapsed_ms=watch.ms,
            request=request_fingerprint,
            response=repr(sorted(output.items())),
        )
        ref = output.get(binding.reference_field) if binding.reference_field else None
        return CapabilityResult(
            outcome=CallOutcome.COMPLETED,
            output=output,
            external_reference=str(ref) if ref is not None else None,
        )

    async def check(self) -> HealthReport:
        """Fetch the WSDL (no side effects); healthy when it is a WSDL document."""
        watch = Stopwatch()
        if not self.base_url:
            return health(self.department, self.kind, False, "no base URL configured", watch)

        def fetch() -> tuple[int, bytes]:
            resp = requests.get(self.base_url + self.options.wsdl_path, timeout=3.0)
            return resp.status_code, resp.content

        try:
            status, content = await asyncio.to_thread(fetch)
        except requests.RequestException as exc:
            return health(self.department, self.kind, False, type(exc).__name__, watch)
        ok = status == 200 and b"definitions" in content
        return health(self.department, self.kind, ok, f"WSDL HTTP {status}", watch)

    async def close(self) -> None:
        """Drop the cached client."""
        with self._lock:
            self._service = self._client = None
