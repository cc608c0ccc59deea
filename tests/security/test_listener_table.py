"""Every route of the GovStack listener, as every caller, on the owner's real objects, against the
literal table in ``tests/security/listener_table.py``.

``test_every_listener_route_has_a_row`` fails when a route of ``create_govstack_app`` has no
row, or a row names a route the listener no longer has. ``test_every_listener_caller_gets_what_
the_table_says`` builds the owner's objects through the platform's use cases and the facades
themselves, then calls every (route, caller) in the table's order, refusals first, and checks
that a refused mutating call left every table's row count, the licences' and deliveries'
states and the audit trail (but for the refusal's own entry) as they were.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from sqlalchemy import func, select

from civicloom.audit.tables import AuditEntryRow
from civicloom.documents.tables import LicenceRow
from civicloom.govstack import create_govstack_app
from civicloom.govstack.clients import register_client
from civicloom.govstack.fixtures import registration
from civicloom.govstack.pubsub.tables import DeliveryRow
from civicloom.runtime import Container
from civicloom.schema import TABLES
from tests.integration.govstack.registries_world import registries_world
from tests.security.listener_table import COLUMNS, rows

OWNER_ROOM = "civicloom/GOV/90000001/births"
OTHER_ROOM = "civicloom/GOV/90000002/police"
UNKNOWN = "civicloom/GOV/90000003/nobody"
EVERY_SCOPE = [
    "messaging:send",
    "payments:p2g",
    "applications:read",
    "applications:write",
    "tasks:read",
    "registries:read",
    "registries:write",
    "events:publish",
    "events:subscribe",
]
SCHEMA = {"type": "object", "properties": {"mother": {"type": "string"}}, "required": ["mother"]}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def listener_routes(container: Container) -> set[tuple[str, str]]:
    """(method, path template) of every route of the listener app."""
    found = set()
    app = create_govstack_app(container, own_container=False)
    for context in iter_route_contexts(app.routes):
        for method in set(getattr(context.original_route, "methods", None) or {"GET"}) - {"HEAD"}:
            found.add((method, str(context.path)))
    return found


async def test_every_listener_route_has_a_row(container: Container) -> None:
    routes = listener_routes(container)
    table = {(method, template) for method, _, template, _, _ in rows()}
    assert sorted(f"{m} {p}" for m, p in routes - table) == []
    assert sorted(f"{m} {p}" for m, p in table - routes) == []
    assert len(table) == len(rows()), "a route has two rows"


@dataclass
class Listener:
    """The listener in-process, its callers' headers and the owner's objects' ids."""

    container: Container
    gs: httpx.AsyncClient
    headers: dict[str, dict[str, str]]
    ids: dict[str, str]


async def _key(container: Container, name: str, department: str, room: str) -> str:
    registered = await register_client(
        container, name=name, department=department, scopes=EVERY_SCOPE, im_clients=(room,)
    )
    assert registered.key is not None
    return registered.key


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else {}


@pytest.fixture
async def listener(container: Container, client: httpx.AsyncClient) -> AsyncIterator[Listener]:
    """The owner's objects, built through the use cases and the facades themselves."""
    container.settings = container.settings.model_copy(update={"govstack_trust_im_header": True})
    await registration.load(container)
    async with registries_world(container, client) as world:
        second_licence = await world.issue("Takeaway counter", "12 Harbour Street")
        headers = {
            "none": {},
            "unknown": {"Information-Mediator-Client": UNKNOWN},
            "other": {
                "api_key": await _key(container, "other-system", "environment", OTHER_ROOM),
                "Information-Mediator-Client": OTHER_ROOM,
            },
            "owner": {
                "api_key": await _key(container, "owner-system", "local-admin", OWNER_ROOM),
                "Information-Mediator-Client": OWNER_ROOM,
            },
        }
        gs, owner = world.gs, headers["owner"]
        sent = _ok(
            await gs.post(
                "/send/email/single",
                json={
                    "senderInfo": {},
                    "recipientInfo": {"email": "olivia@example.gov", "name": "Olivia"},
                    "emailContent": {"encoding": "UTF-8", "title": "Notice", "content": "Hello."},
                },
                headers=owner,
            )
        )
        filed = _ok(
            await gs.post(
                f"/services/{registration.SERVICES[0][0]}/applications",
                json={"applicantId": "p-001", "formData": {"data": {"full_name": "Amya Yuko"}}},
                headers=owner,
            )
        )
        file_id = filed["fileId"]
        tasks = _ok(await gs.get("/tasks", params={"fileId": file_id}, headers=owner))
        room = f"/r1/{OWNER_ROOM}"
        for name in ("newBirth", "newDeath", "newMarriage", "oldBirth"):
            _ok(
                await gs.post(
                    f"{room}/api/v1/eventType",
                    json={"eventType": name, "schema": SCHEMA},
                    headers=owner,
                )
            )
        for name in ("newBirth", "newMarriage"):
            _ok(
                await gs.post(
                    f"{room}/api/v1/subs/{name}",
                    json={"eventType": name, "delivery": "PULL"},
                    headers=owner,
                )
            )
        birth = {"eventType": "newBirth", "event": {"mother": "Jane Doe"}}
        event = _ok(await gs.post(f"{room}/pub/v1/newBirth", json=birth, headers=owner), 201)
        cancelled = _ok(await gs.post(f"{room}/pub/v1/newBirth", json=birth, headers=owner), 201)
        instance, member_class, member, app = OWNER_ROOM.split("/")
        yield Listener(
            container,
            gs,
            headers,
            {
                "slug": "not-found",
                "request_uid": sent["requestUID"],
                "billId": "BILL-0000-0001",
                "serviceId": registration.SERVICES[0][0],
                "eFormId": registration.SERVICES[0][3],
                "fileId": file_id,
                "taskId": tasks[0]["taskId"],
                "id": "1",
                "registryName": "licences",
                "versionNumber": "1.0",
                "uuid": world.licence_id,
                "field": "Status",
                "ext": "json",
                "licence": world.licence_id,
                "ID": second_licence,
                "tax": "civicloom/GOV/tax/capabilities",
                "instance": instance,
                "memberClass": member_class,
                "memberCode": member,
                "applicationCode": app,
                "eventType": "newBirth",
                "oldType": "oldBirth",
                "newType": "newDeath",
                "endedType": "newMarriage",
                "eventId": event["id"],
                "cancelledId": cancelled["id"],
                "subscriber": OTHER_ROOM,
            },
        )


def _path(table_path: str, ids: dict[str, str]) -> str:
    path = table_path.replace("/r1/{room}", f"/r1/{OWNER_ROOM}")
    path = path.replace(
        "/{instanceId}/{memberClass}/{memberCode}/{applicationCode}", f"/{ids['tax']}"
    )
    for name, value in ids.items():
        path = path.replace("{" + name + "}", value)
    return path


def _request(body: str, ids: dict[str, str], n: int) -> dict[str, Any]:
    """httpx keyword arguments for a body the owner may send."""
    email = {
        "senderInfo": {},
        "recipientInfo": {"email": "olivia@example.gov", "name": "Olivia"},
        "emailContent": {"encoding": "UTF-8", "title": f"Notice {n}", "content": "Hello."},
    }
    batch = base64.b64encode(
        json.dumps([{"recipientInfo": {"email": "olivia@example.gov", "name": "O"}}]).encode()
    ).decode()
    bodies: dict[str, dict[str, Any]] = {
        "-": {},
        "email": {"json": email},
        "email_batch": {
            "json": {
                "senderInfo": {},
                "recipientInfo": {"batchEmailAsBase64": batch},
                "emailContent": email["emailContent"],
            }
        },
        "request_uid": {
            "headers": {"requestUID": ids["request_uid"]},
            "params": {"status": "scheduled"},
        },
        "callback": {
            "json": {"meta": "", "content": "aGVsbG8="},
            "headers": {"requestUID": ids["request_uid"]},
        },
        "bill": {
            "json": {
                "requestId": f"r{n}",
                "billInquiryRequestId": f"q{n}",
                "billId": ids["billId"],
                "paymentReferenceID": f"PR{n:08d}",
                "paidAmount": 100,
                "currency": "EUR",
            }
        },
        "file": {
            "json": {"applicantId": f"p-{n:03d}", "formData": {"data": {"full_name": "Amya Yuko"}}}
        },
        "document": {
            "params": {"fileId": ids["fileId"], "documentType": "birth_certificate"},
            "files": {"file": ("certificate.txt", b"A birth certificate.", "text/plain")},
        },
        "decision": {"json": {"data": {"decision": "approve"}}},
        "usage": {"params": {"userId": "alice", "databaseId": "LIC"}},
        "by_id": {"json": {"query": {"content": {"ID": ids["licence"]}}}},
        "write": {"json": {"write": {"content": {"ID": "LIC-0"}}}},
        "revoke": {
            "json": {
                "query": {"content": {"ID": ids["licence"]}},
                "write": {"content": {"Status": "revoked", "RevocationReason": "Premises closed."}},
            }
        },
        "openapi": {"params": {"serviceCode": "tax.taxpayer_lookup"}},
        "event_type": {"json": {"eventType": f"newDivorce{n}", "schema": SCHEMA}},
        "publish": {"json": {"eventType": "newBirth", "event": {"mother": "Mary Major"}}},
        "subscribe": {"json": {"eventType": "newDeath", "delivery": "PULL"}},
        "resubscribe": {
            "json": {"eventType": "newBirth", "delivery": "PULL", "options": {"TTL": 7200}}
        },
    }
    return {k: dict(v) if isinstance(v, dict) else v for k, v in bodies[body].items()}


REFUSALS_RECORDED = {"identity.access_denied"}
"""Audit entries a refusal itself writes (the access-denied record)."""
P2G_REFUSAL = "payment.p2g_notification"
"""A refused P2G notification is audited with its reason (ADR 0046): the refusal's own record."""


COUNTERS = {"rate_limit_windows"}
"""Counts attempts by design, refused ones too (a throttle that forgot them would not
throttle): an abuse counter keyed by a digest, not anyone's data (ADR 0062)."""


async def _state(container: Container, refusals: set[str]) -> dict[str, Any]:
    """Row counts of every table (audit: but for the refusals' own entries), licence and
    delivery states."""
    state: dict[str, Any] = {}
    async with container.uow() as uow:
        s = uow.session
        for table in TABLES:
            if table.__tablename__ in COUNTERS:
                continue
            state[table.__tablename__] = int(
                await s.scalar(select(func.count()).select_from(table)) or 0
            )
        state["audit"] = int(
            await s.scalar(
                select(func.count())
                .select_from(AuditEntryRow)
                .where(AuditEntryRow.action.not_in(sorted(refusals)))
            )
            or 0
        )
        del state[AuditEntryRow.__tablename__]
        state["licences"] = sorted(
            (await s.execute(select(LicenceRow.id, LicenceRow.revoked_at))).all()
        )
        state["deliveries"] = sorted(
            (await s.execute(select(DeliveryRow.event_id, DeliveryRow.status))).all()
        )
    return state


async def test_every_listener_caller_gets_what_the_table_says(listener: Listener) -> None:
    failures: list[str] = []
    n = 0
    for method, table_path, _, body, cells in rows():
        path = _path(table_path, listener.ids)
        for caller in sorted(COLUMNS, key=lambda c: not cells[c].startswith("4")):
            n += 1
            expected = cells[caller]
            kwargs = _request(body, listener.ids, n)
            headers = {**listener.headers[caller], **kwargs.pop("headers", {})}
            watch = method in UNSAFE and expected.startswith("4")
            refusals = REFUSALS_RECORDED | ({P2G_REFUSAL} if body == "bill" else set())
            before = await _state(listener.container, refusals) if watch else {}
            answer = await listener.gs.request(method, path, headers=headers, **kwargs)
            left = []
            if watch:
                after = await _state(listener.container, refusals)
                left = [k for k in before if before[k] != after[k]]
            if str(answer.status_code) != expected or left:
                also = f"; changed {left}" if left else ""
                failures.append(
                    f"{caller:7} {method:6} {table_path}: expected {expected}, "
                    f"got {answer.status_code}{also} {answer.text[:160]}"
                )
    assert n == len(rows()) * len(COLUMNS)
    assert failures == [], "\n".join(failures)
