"""Registering GovStack callers: machine clients, their IM subsystems and conformance aliases.

``register_client`` is what a building block's conformance fixtures call (``fixtures/*.py``):
it finds the machine client of that name (not revoked) or creates it through the platform's own
use case (``create_api_key``: audited, scopes checked), then records in the registrations file
(``govstack_clients_file``, see ``caller.py``) which IM subsystems and which presented keys
stand for it, and where its pub/sub PUSH subscriptions may deliver (ADR 0054). Calling it
again changes nothing (ADR 0046).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from civicloom.audit import AuditAction, AuditRecord, append_audit
from civicloom.govstack.caller import (
    IM_CLIENT_PATTERN,
    ClientRegistrations,
    clients_file,
    load_registrations,
)
from civicloom.govstack.pubsub import Registered, allow_subscriber, remove_subscriber
from civicloom.identity import ApiClientView, create_api_key, list_api_keys
from civicloom.kernel import FieldError, NotFound, ValidationFailed, sha256_hex
from civicloom.runtime import Container
from civicloom.settings import Profile

CONFORMANCE_ACTOR = "cli:govstack-fixtures"
CONFORMANCE_TESTS_CLIENT = "govstack-conformance-tests"
CONFORMANCE_TEST_SCOPES = ("messaging:send", "registries:read", "registries:write")
"""What the key of ``tests/conformance`` (``GOVSTACK_API_KEY``) holds: a building block whose
in-repo conformance tests call with that key adds its scopes here."""


class ProductionRefused(RuntimeError):
    """Conformance fixtures (published, guessable keys) never load in production."""


@dataclass(frozen=True)
class RegisteredClient:
    """A machine client registered for GovStack callers; ``key`` only when created just now."""

    prefix: str
    name: str
    key: str | None


def _write(path: Path, registrations: ClientRegistrations) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    partial.write_text(registrations.to_json(), encoding="utf-8")
    os.replace(partial, path)


async def register_client(
    container: Container,
    *,
    name: str,
    department: str,
    scopes: list[str],
    aliases: tuple[str, ...] = (),
    im_clients: tuple[str, ...] = (),
    push_endpoints: tuple[str, ...] = (),
) -> RegisteredClient:
    """The machine client ``name`` (created once), with its aliases and IM subsystems."""
    settings = container.settings
    if settings.profile is Profile.PRODUCTION:
        raise ProductionRefused("GovStack conformance fixtures are refused in production")
    existing = next(
        (
            c
            for c in await list_api_keys(container.uow())
            if c.name == name and c.revoked_at is None and c.expires_at > container.clock.now()
        ),
        None,
    )
    key: str | None = None
    if existing is None:
        issued = await create_api_key(
            container.uow(),
            container.clock,
            name=name,
            department=department,
            scopes=scopes,
            expires_in_days=730,
            actor=CONFORMANCE_ACTOR,
        )
        prefix, key = issued.client.prefix, issued.key
    else:
        prefix = existing.prefix
    path = clients_file(settings)
    known = load_registrations(path if path.is_file() else None)
    endpoints = dict(known.push_endpoints)
    if push_endpoints:
        endpoints[prefix] = tuple(dict.fromkeys((*endpoints.get(prefix, ()), *push_endpoints)))
    updated = ClientRegistrations(
        aliases={**known.aliases, **{sha256_hex(a): prefix for a in aliases}},
        im_clients={**known.im_clients, **dict.fromkeys(im_clients, prefix)},
        push_endpoints=endpoints,
    )
    if updated != known or not path.is_file():
        _write(path, updated)
    return RegisteredClient(prefix=prefix, name=name, key=key)


async def _valid_client(container: Container, name: str) -> ApiClientView:
    """The machine client of that name, not revoked nor expired (404 otherwise)."""
    now = container.clock.now()
    for client in await list_api_keys(container.uow()):
        if client.name == name and client.revoked_at is None and client.expires_at > now:
            return client
    raise NotFound(f"no valid machine client named {name!r}")


async def register_subsystem(
    container: Container,
    *,
    client_name: str,
    subsystems: tuple[str, ...],
    push_endpoints: tuple[str, ...] = (),
    actor: str,
) -> str:
    """An operator's registration (production too): the IM subsystems that stand for the
    machine client ``client_name`` (its rooms, ADR 0054) and where its PUSH subscriptions may
    deliver. No alias key is ever written here. Audited; returns the client's prefix."""
    errors = [
        FieldError("subsystem", "pattern", f"{s!r} is not INSTANCE/CLASS/MEMBER/SUBSYSTEM")
        for s in subsystems
        if not IM_CLIENT_PATTERN.match(s)
    ] + [
        FieldError("push_endpoint", "url", f"{u!r} is not an http(s) URL")
        for u in push_endpoints
        if not u.startswith(("https://", "http://"))
    ]
    if errors:
        raise ValidationFailed(errors)
    now = container.clock.now()
    client = await _valid_client(container, client_name)
    path = clients_file(container.settings)
    known = load_registrations(path if path.is_file() else None)
    taken = {
        s: known.im_clients[s]
        for s in subsystems
        if known.im_clients.get(s, client.prefix) != client.prefix
    }
    if taken:
        raise ValidationFailed(
            [FieldError("subsystem", "taken", f"{s} stands for another client") for s in taken]
        )
    endpoints = dict(known.push_endpoints)
    if push_endpoints:
        mine = (*endpoints.get(client.prefix, ()), *push_endpoints)
        endpoints[client.prefix] = tuple(dict.fromkeys(mine))
    _write(
        path,
        ClientRegistrations(
            aliases=known.aliases,
            im_clients={**known.im_clients, **dict.fromkeys(subsystems, client.prefix)},
            push_endpoints=endpoints,
        ),
    )
    async with container.uow() as uow:
        await append_audit(
            uow.session,
            AuditRecord(
                actor=actor,
                action=AuditAction.GOVSTACK_CLIENT_REGISTERED,
                subject_type="api_client",
                subject_id=client.prefix,
                occurred_at=now,
                department=client.department,
                details={"subsystems": list(subsystems), "push_endpoints": list(push_endpoints)},
            ),
        )
        await uow.commit()
    return client.prefix


async def set_room_subscriber(
    container: Container, *, room: str, client_name: str, allowed: bool, actor: str
) -> bool:
    """An operator's change to a room's list of allowed subscribers (ADR 0057; production too):
    the machine client ``client_name`` is put on it (``allowed``) or taken off it (its
    subscriptions in the room end). Audited; returns whether anything changed."""
    client = await _valid_client(container, client_name)
    path = clients_file(container.settings)
    known = load_registrations(path if path.is_file() else None)
    found = Registered(rooms=known.im_clients, push_endpoints=known.push_endpoints).room(room)
    if client.prefix == found.owner_prefix:
        raise ValidationFailed(
            [FieldError("client", "own", "the room's own client needs no place on its list")]
        )
    subscriber = f"client:{client.prefix}"
    if not allowed:
        await remove_subscriber(
            container, found, subscriber, actor=actor, department=client.department
        )
        return True
    subsystems = sorted(s for s, p in known.im_clients.items() if p == client.prefix)
    return await allow_subscriber(
        container,
        found,
        subscriber,
        subsystems[0] if subsystems else None,
        actor=actor,
        department=client.department,
    )
