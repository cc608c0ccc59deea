"""A department system behind a JSON REST API."""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any, ClassVar, Literal

import httpx
from pydantic import Field
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

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

# Statuses worth another attempt: the system is busy or down, not refusing the request.
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class AuthOptions(PluginOptions):
    """How the platform authenticates to the department (secrets by name, never inline)."""

    scheme: Literal["none", "bearer", "api_key"] = "none"
    secret: str | None = Field(None, description="Name in CIVICLOOM_CONNECTOR_SECRETS.")
    header: str = Field("X-API-Key", description="Header carrying the API key.")


class TlsOptions(PluginOptions):
    """Mutual TLS: our client certificate and the department's CA."""

    client_cert: Path | None = None
    client_key: Path | None = None
    ca_bundle: Path | None = None


class RestOptions(PluginOptions):
    """Typed options of the REST connector."""

    base_url: str | None = Field(None, description="Overrides the settings/simulator URL.")
    timeout_seconds: float = Field(10.0, gt=0)
    connect_timeout_seconds: float = Field(3.0, gt=0)
    retries: int = Field(2, ge=0, le=5, description="Extra attempts after a transient failure.")
    backoff_seconds: float = Field(0.2, ge=0)
    health_path: str = Field("/", description="GET path of a side-effect-free probe.")
    idempotency_header: str = "Idempotency-Key"
    auth: AuthOptions = Field(default_factory=AuthOptions)
    tls: TlsOptions = Field(default_factory=TlsOptions)


class RestBinding(PluginOptions):
    """How one capability maps onto an HTTP request."""

    method: Literal["GET", "POST", "PUT", "PATCH"] = "POST"
    path: str = Field(description="Path template; `{field}` placeholders come from the input.")
    reference_field: str | None = Field(None, description="Output field used as reference.")


class _Retryable(Exception):
    """Internal: one attempt failed in a way worth retrying."""


class RestConnector:
    """Calls capabilities as HTTP requests; one client (connection pool) per department."""

    kind: str = "rest"
    options_model: ClassVar[type[RestOptions]] = RestOptions

    def __init__(self, ctx: ConnectorContext) -> None:
        self.ctx = ctx
        self.department = ctx.department
        self.options = ctx.options(self.options_model)
        # A missing URL is reported by check() and call(), so one unconfigured department
        # does not stop the others from being built.
        self.base_url = (self.options.base_url or ctx.base_url or "").rstrip("/")
        self.bindings = {
            name: RestBinding.model_validate(cap.binding(self.kind))
            for name, cap in ctx.capabilities.items()
            if cap.binding(self.kind)
        }
        self._auth_headers = self._build_auth()
        self._client: httpx.AsyncClient | None = None

    def _build_auth(self) -> dict[str, str]:
        auth = self.options.auth
        secret = self.ctx.secret(auth.secret)
        if auth.scheme == "bearer" and secret:
            return {"Authorization": f"Bearer {secret}"}
        if auth.scheme == "api_key" and secret:
            return {auth.header: secret}
        return {}

    def _http(self) -> httpx.AsyncClient:
        if not self.base_url:
            raise PermanentError(f"{self.department}: no base URL configured")
        if self._client is None:
            tls = self.options.tls
            cert = (
                (str(tls.client_cert), str(tls.client_key) if tls.client_key else None)
                if tls.client_cert
                else None
            )
            self._client = httpx.AsyncClient(
                base_url=self.base_url,
                headers=self._auth_headers,
                cert=cert,  # type: ignore[arg-type]
                verify=str(tls.ca_bundle) if tls.ca_bundle else True,
                timeout=httpx.Timeout(
                    self.options.timeout_seconds, connect=self.options.connect_timeout_seconds
                ),
            )
        return self._client

    def request_body(self, call: CapabilityCall, binding: RestBinding) -> dict[str, Any]:
        """The JSON body: the input without the fields used in the path."""
        used = {f for _, f, _, _ in string.Formatter().parse(binding.path) if f}
        return {k: v for k, v in call.input.items() if k not in used}

    async def call(self, call: CapabilityCall) -> CapabilityResult:
        """POST the capability's request; 2xx answers, 202 acceptances, typed failures."""
        self.ctx.capability(call)
        binding = self.bindings.get(call.capability)
        if binding is None:
            raise PermanentError(f"{call.capability} has no {self.kind} binding")
        try:
            path = binding.path.format(**{k: str(v) for k, v in call.input.items()})
        except KeyError as exc:
            raise PermanentError(f"{call.capability}: input lacks path field {exc}") from exc
        body = (
            b""
            if binding.method == "GET"
            else json.dumps(self.request_body(call, binding)).encode()
        )
        headers = {self.options.idempotency_header: call.idempotency_key}
        if body:
            headers["Content-Type"] = "application/json"
        traceparent = traceparent_of(call)
        if traceparent:
            headers["traceparent"] = traceparent
        timeout = min(self.options.timeout_seconds, call.timeout_seconds)
        watch = Stopwatch()
        attempts = 0
        response: httpx.Response | None = None
        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception_type(_Retryable),
                stop=stop_after_attempt(self.options.retries + 1),
                wait=wait_exponential_jitter(multiplier=self.options.backoff_seconds, max=2.0),
                reraise=True,
            ):
                with attempt:
                    attempts += 1
                    response = await self._attempt(binding.method, path, body, headers, timeout)
        except _Retryable as exc:
            log_exchange(
                call,
                self.kind,
                outcome="transient",
                elapsed_ms=watch.ms,
                request=body,
                attempts=attempts,
                error=str(exc),
            )
            raise TransientError(f"{self.department}: {exc} after {attempts} attempt(s)") from exc
        assert response is not None
        return self._result(call, binding, response, body, watch, attempts)

    async def _attempt(
        self, method: str, path: str, body: bytes, headers: dict[str, str], limit: float
    ) -> httpx.Response:
        try:
            response = await self._http().request(
                method, path, content=body or None, headers=headers, timeout=limit
            )
        except httpx.TimeoutException as exc:
            raise _Retryable(f"timeout ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise _Retryable(f"unreachable ({type(exc).__name__})") from exc
        if response.status_code in RETRYABLE_STATUSES:
            raise _Retryable(f"HTTP {response.status_code}")
        return response

    def _result(
        self,
        call: CapabilityCall,
        binding: RestBinding,
        response: httpx.Response,
        body: bytes,
        watch: Stopwatch,
        attempts: int,
    ) -> CapabilityResult:
        status = response.status_code
        meta = {"http_status": status, "attempts": attempts, "elapsed_ms": watch.ms}
        if status >= 400:
            log_exchange(
                call, self.kind, outcome="refused", request=body, response=response.content, **meta
            )
            raise PermanentError(f"{self.department} refused: HTTP {status} {_detail(response)}")
        try:
            output = response.json()
        except ValueError:
            output = None
        if not isinstance(output, dict):
            log_exchange(
                call,
                self.kind,
                outcome="contract_violation",
                request=body,
                response=response.content,
                **meta,
            )
            raise ContractViolation(f"{call.capability}: the answer is not a JSON object")
        outcome = CallOutcome.ACCEPTED if status == 202 else CallOutcome.COMPLETED
        log_exchange(
            call, self.kind, outcome=outcome.value, request=body, response=response.content, **meta
        )
        reference = output.get(binding.reference_field) if binding.reference_field else None
        return CapabilityResult(
            outcome=outcome,
            output=output,
            external_reference=str(reference) if reference is not None else None,
        )

    async def check(self) -> HealthReport:
        """GET the health path; healthy on any 2xx."""
        watch = Stopwatch()
        try:
            resp = await self._http().get(self.options.health_path, timeout=3.0)
        except PermanentError as exc:
            return health(self.department, self.kind, False, str(exc), watch)
        except httpx.HTTPError as exc:
            return health(self.department, self.kind, False, type(exc).__name__, watch)
        ok = resp.is_success
        return health(self.department, self.kind, ok, f"HTTP {resp.status_code}", watch)

    async def close(self) -> None:
        """Close the connection pool."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or "")[:200]
    return ""
