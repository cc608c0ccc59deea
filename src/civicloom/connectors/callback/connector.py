"""Outsourced systems that accept a request (202) and answer later by signed webhook."""

from __future__ import annotations

from typing import Any, ClassVar

import httpx
from pydantic import Field

from civicloom.connectors.base import ConnectorContext
from civicloom.connectors.callback.verify import CallbackVerifier
from civicloom.connectors.rest import RestBinding, RestConnector, RestOptions
from civicloom.departments import CapabilityCall, ExternalCompletion, TransientError


class CallbackOptions(RestOptions):
    """REST options plus where the callback URL goes and how callbacks are signed."""

    callback_secret: str = Field(description="Name of the HMAC secret in connector secrets.")
    callback_url_field: str = Field("callback_url", description="Request field for our URL.")
    key_field: str = Field("idempotency_key", description="Callback field naming the request.")
    status_path: str | None = Field(
        None, description="GET path (with `{reference}`) of the polling fallback, if any."
    )
    status_done_field: str = "status"
    status_done_value: str = "completed"


class CallbackConnector(RestConnector):
    """Sends the request with our callback URL; ``verifier()`` checks the answers."""

    kind: str = "callback"
    options_model: ClassVar[type[RestOptions]] = CallbackOptions

    def __init__(self, ctx: ConnectorContext) -> None:
        super().__init__(ctx)
        assert isinstance(self.options, CallbackOptions)
        self.callback_options: CallbackOptions = self.options
        self.secret = ctx.secret(self.callback_options.callback_secret) or ""
        self.default_callback_url = (
            f"{ctx.settings.effective_public_url.rstrip('/')}/api/v1/callbacks/{ctx.department}"
        )

    def request_body(self, call: CapabilityCall, binding: RestBinding) -> dict[str, Any]:
        """The REST body plus the URL the department must call back."""
        body = super().request_body(call, binding)
        body[self.callback_options.callback_url_field] = (
            call.callback_url or self.default_callback_url
        )
        return body

    def verifier(self) -> CallbackVerifier:
        """How this department's callbacks are verified."""
        asynchronous = [c.name for c in self.ctx.capabilities.values() if c.asynchronous]
        return CallbackVerifier(
            department=self.department,
            secret=self.secret,
            tolerance_seconds=self.ctx.settings.callback_tolerance_seconds,
            key_field=self.callback_options.key_field,
            capability=asynchronous[0] if len(asynchronous) == 1 else None,
        )

    async def fetch_completion(self, external_reference: str) -> ExternalCompletion | None:
        """Polling fallback when no callback came within the SLA: the answer, if ready."""
        template = self.callback_options.status_path
        if not template:
            return None
        try:
            resp = await self._http().get(template.format(reference=external_reference))
        except httpx.HTTPError as exc:
            raise TransientError(f"{self.department}: status poll failed: {exc}") from exc
        if resp.status_code >= 500:
            raise TransientError(f"{self.department}: status poll HTTP {resp.status_code}")
        if resp.status_code != 200:
            return None
        body = resp.json()
        opts = self.callback_options
        if not isinstance(body, dict) or body.get(opts.status_done_field) != opts.status_done_value:
            return None
        key = str(body.pop(opts.key_field, ""))
        for noise in (opts.status_done_field, "callback"):
            body.pop(noise, None)
        asynchronous = [c.name for c in self.ctx.capabilities.values() if c.asynchronous]
        return ExternalCompletion(
            idempotency_key=key,
            output=body,
            received_from=self.department,
            capability=asynchronous[0] if len(asynchronous) == 1 else None,
        )
