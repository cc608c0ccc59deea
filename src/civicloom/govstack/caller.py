"""Who is calling a GovStack facade (ADR 0046).

GovStack suites send a platform API key in an ``api_key`` or ``apiKey`` header (or as
``Authorization: Bearer``); the Information Mediator convention adds an
``Information-Mediator-Client`` header naming the calling subsystem
(``INSTANCE/CLASS/MEMBER/SUBSYSTEM``). ``govstack_caller`` runs before every route's guard on the
GovStack listener:

- the IM header, when present, must be four ``/``-separated parts (a 400 naming the header
  otherwise); it is bound to the request's log lines as ``im_client`` and kept on
  ``request.state.im_client``. On its own it identifies nobody, unless the deployment says the
  listener sits behind an IM security server (``govstack_trust_im_header``): then the subsystem
  is looked up in the client registrations and its machine client becomes the caller.
- a platform key (``cl_…``) in ``api_key``/``apiKey`` is checked as on the native API.
- any other key is looked up, by its SHA-256, in the registrations' aliases: how a conformance
  deployment lets the published suites' fixed keys (e.g. ``abcdef12345``) act as a registered
  machine client. Aliases are never honoured in the production profile.

The registrations file (``govstack_clients_file``, written by ``civicloom govstack fixtures``)
holds no secrets: ``{"aliases": {sha256(key): prefix}, "im_clients": {im_id: prefix},
"push_endpoints": {prefix: [url, ...]}}``, where
``prefix`` names a machine client (``civicloom apikeys list``). Revoked or expired clients are
refused whatever vouches for them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from fastapi import Request

from civicloom.identity import authenticate_api_key, vouched_machine_client
from civicloom.kernel import FieldError, ValidationFailed, sha256_hex
from civicloom.settings import Profile, Settings
from civicloom.web import ContainerDep

log = structlog.get_logger(__name__)

IM_CLIENT_HEADER = "Information-Mediator-Client"
IM_CLIENT_PATTERN = re.compile(r"^([A-Za-z0-9._:-]{1,64})(/[A-Za-z0-9._:-]{1,64}){3}$")
"""``INSTANCE/CLASS/MEMBER/SUBSYSTEM``, e.g. ``eGovStack/GOV/90000009/digitalregistries``."""
KEY_HEADERS = ("api_key", "apikey")


@dataclass(frozen=True)
class ClientRegistrations:
    """Which machine client a presented alias key or a vouched IM subsystem stands for."""

    aliases: dict[str, str] = field(default_factory=dict)
    im_clients: dict[str, str] = field(default_factory=dict)
    push_endpoints: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Where a client's IM pub/sub PUSH subscriptions may deliver (prefix -> URLs; ADR 0054):
    an operator's list, so a subscriber never makes the platform post anywhere else."""

    def to_json(self) -> str:
        """The registrations file's text."""
        data = {
            "aliases": self.aliases,
            "im_clients": self.im_clients,
            "push_endpoints": {k: list(v) for k, v in self.push_endpoints.items()},
        }
        return json.dumps(data, indent=2, sort_keys=True) + "\n"


_cache: dict[Path, tuple[tuple[int, int, int], ClientRegistrations]] = {}


def load_registrations(path: Path | None) -> ClientRegistrations:
    """The registrations file, re-read when it changes; empty when not configured."""
    if path is None or not path.is_file():
        return ClientRegistrations()
    stat = path.stat()
    version = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
    cached = _cache.get(path)
    if cached is not None and cached[0] == version:
        return cached[1]
    data = json.loads(path.read_text(encoding="utf-8"))
    found = ClientRegistrations(
        aliases={str(k): str(v) for k, v in dict(data.get("aliases", {})).items()},
        im_clients={str(k): str(v) for k, v in dict(data.get("im_clients", {})).items()},
        push_endpoints={
            str(k): tuple(str(u) for u in v)
            for k, v in dict(data.get("push_endpoints", {})).items()
        },
    )
    _cache[path] = (version, found)
    return found


class MalformedImClient(ValidationFailed):
    """The ``Information-Mediator-Client`` header is not an X-Road id: 400, as the IM and
    Registration specs answer an error in the request (the body names the header)."""

    status = 400


def clients_file(settings: Settings) -> Path:
    """Where the registrations live (``govstack_clients_file``, else under ``var_dir``)."""
    return settings.govstack_clients_file or settings.var_dir / "govstack-clients.json"


def im_client_of(request: Request) -> str:
    """The validated ``Information-Mediator-Client`` header ('' when absent)."""
    value = request.headers.get(IM_CLIENT_HEADER, "")
    if value and not IM_CLIENT_PATTERN.match(value):
        raise MalformedImClient(
            [
                FieldError(
                    IM_CLIENT_HEADER,
                    "format",
                    "give INSTANCE/CLASS/MEMBER/SUBSYSTEM: four parts of letters, digits, "
                    "'.', '_', ':' or '-' separated by '/'",
                )
            ]
        )
    return value


BEHIND_IM = "behind_information_mediator"
"""Request-state flag set by the GovStack listener's ``BehindInformationMediator`` middleware:
the one app whose callers may be vouched for by the ``Information-Mediator-Client`` header."""


def _presented_key(request: Request) -> str:
    for header in KEY_HEADERS:
        key = request.headers.get(header, "")
        if key:
            return key
    return ""


def _aliases_allowed(settings: Settings) -> bool:
    return settings.profile is not Profile.PRODUCTION


async def govstack_caller(request: Request, container: ContainerDep) -> None:
    """Resolve the GovStack credentials to a machine client (before the route guard)."""
    im_client = im_client_of(request)
    request.state.im_client = im_client
    if im_client:
        structlog.contextvars.bind_contextvars(im_client=im_client)
    if hasattr(request.state, "principal"):
        return
    settings = container.settings
    key = _presented_key(request)
    if key.startswith("cl_"):
        client = await authenticate_api_key(container.uow(), container.clock, key)
        if client is not None:
            request.state.principal = client
        return
    registrations = load_registrations(clients_file(settings))
    if key:
        prefix = registrations.aliases.get(sha256_hex(key))
        if prefix is not None and _aliases_allowed(settings):
            client = await vouched_machine_client(
                container.uow(), container.clock, prefix, vouched_by="alias"
            )
            if client is not None:
                request.state.principal = client
        return
    if im_client and not request.headers.get("authorization"):
        prefix = registrations.im_clients.get(im_client)
        # Only the listener sits behind the IM security server: the same facades mounted on
        # the public app (``govstack_base_path``) never take the header as an identity.
        behind_im = getattr(request.state, BEHIND_IM, False)
        if prefix is None or not (settings.govstack_trust_im_header and behind_im):
            return
        client = await vouched_machine_client(
            container.uow(), container.clock, prefix, vouched_by="im"
        )
        if client is not None:
            log.info("govstack_im_client_vouched", client=client.subject)
            request.state.principal = client
