"""The worker's PUSH deliverer (ADR 0054): one ``internal.pubsub.deliver`` message, one POST.

The attempt is recorded before the call and its outcome after it, each in its own short
transaction (no remote call inside one, ADR 0038); the worker marks the outbox message sent only
after the outcome is recorded. A failure raises, so the outbox retries with back-off and, after
its last attempt, dead-letters the message as the delivery row is marked dead. The POST carries
the ``EventItem`` and a compact JWS over it signed with the platform's key
(``X-Civicloom-Signature``; public keys at ``/.well-known/jwks.json``), and waits at most
``PUSH_TIMEOUT_SECONDS``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx

from civicloom.audit import Keyring
from civicloom.govstack.caller import clients_file, load_registrations
from civicloom.govstack.pubsub.domain import (
    PUSH_TIMEOUT_SECONDS,
    SIGNATURE_HEADER,
    SIGNATURE_TYPE,
)
from civicloom.govstack.pubsub.push import PushTarget, finish_push, start_push
from civicloom.govstack.pubsub.rooms import Registered
from civicloom.observability import get_logger
from civicloom.outbox import MAX_ATTEMPTS, EventType, OutboxMessage
from civicloom.runtime import Container

log = get_logger(__name__)
PUBSUB = "pubsub"


class PushFailed(Exception):
    """The subscriber's endpoint did not take the event (the outbox tries again later)."""


class PushDeliverer:
    """The worker's subscriber for ``internal.pubsub.deliver``."""

    name = PUBSUB
    handles = frozenset({EventType.PUBSUB_DELIVER})

    def __init__(
        self,
        container: Container,
        keyring: Callable[[], Keyring],
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.container = container
        self.keyring = keyring
        self.client = client or httpx.AsyncClient(timeout=PUSH_TIMEOUT_SECONDS)

    async def __call__(self, message: OutboxMessage) -> float | None:
        """Push one event to one subscriber; raise to have the outbox try again."""
        if message.topic != EventType.PUBSUB_DELIVER.value:
            return None
        data = message.payload.get("data", {})
        found = load_registrations(clients_file(self.container.settings))
        target = await start_push(
            self.container,
            str(data.get("event_id", "")),
            str(data.get("subscription_id", "")),
            Registered(rooms=found.im_clients, push_endpoints=found.push_endpoints),
        )
        if target is None:
            return None
        error = await self._post(target)
        last = message.attempts >= MAX_ATTEMPTS
        await finish_push(self.container, target, error, last)
        if error is not None:
            log.warning(
                "pubsub_push_failed",
                event_id=target.event.id,
                subscription=target.subscription_id,
                attempt=target.attempt,
                dead=last,
                error=error,
            )
            raise PushFailed(error)
        log.info(
            "pubsub_pushed",
            event_id=target.event.id,
            subscription=target.subscription_id,
            attempt=target.attempt,
        )
        return None

    async def _post(self, target: PushTarget) -> str | None:
        if not self.container.settings.pubsub_push_private_hosts:
            refused = await non_public_host(target.push_url)
            if refused is not None:
                return refused
        item = {**target.event.item(), "subscriptionId": target.subscription_id}
        signature = self.keyring().sign(item, typ=SIGNATURE_TYPE)
        try:
            answer = await self.client.post(
                target.push_url,
                content=json.dumps(item).encode(),
                headers={
                    "content-type": "application/json",
                    SIGNATURE_HEADER: signature,
                    "Idempotency-Key": f"{target.event.id}:{target.subscription_id}",
                },
                timeout=PUSH_TIMEOUT_SECONDS,
            )
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"[:500]
        if not 200 <= answer.status_code < 300:
            return f"HTTP {answer.status_code}"
        return None

    async def close(self) -> None:
        """Close the HTTP client."""
        await self.client.aclose()


PRIVATE_HOST = "the push endpoint resolves to a non-public address"


async def non_public_host(url: str) -> str | None:
    """Why a push to ``url`` is refused before any connection (ADR 0057): its host resolves to
    a private, loopback, link-local, reserved, multicast or unspecified address, or does not
    resolve at all. None when every address it resolves to is public. (Resolved again by the
    HTTP client: a name that changes between the two lookups is the remaining gap.)"""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        found = await asyncio.get_running_loop().getaddrinfo(
            host, parts.port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM
        )
    except OSError:
        return "ResolveError: the push endpoint's host does not resolve"
    for *_, address in found:
        ip = ipaddress.ip_address(str(address[0]).split("%", 1)[0])
        if not ip.is_global or ip.is_multicast:
            return f"{PRIVATE_HOST}: {ip}"
    return None
