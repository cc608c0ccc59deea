"""The GovStack Messaging facade: API-key authenticated email sending and status."""

from __future__ import annotations

import base64
import json

import httpx
from sqlalchemy import func, select

from civicloom.app import create_app
from civicloom.audit.tables import AuditEntryRow
from civicloom.identity import create_api_key
from civicloom.notifications.tables import DeliveryRow
from civicloom.outbox.tables import OutboxRow
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.notifications.conftest import SmtpServer, notification_worker, relay_all
from tests.wiring import reconfigure


async def test_send_batch_and_status_with_an_api_key(
    container: Container, client: httpx.AsyncClient, smtp: SmtpServer
) -> None:
    issued = await create_api_key(
        container.uow(),
        container.clock,
        name="tax-system",
        department="tax",
        scopes=["messaging:send"],
    )
    other = await create_api_key(
        container.uow(),
        container.clock,
        name="nosy-system",
        department="tax",
        scopes=["applications:read"],
    )
    key = {"apiKey": issued.key}
    content = {"title": "Tax reminder", "content": "Pay by <Friday>"}
    people = [{"recipientInfo": {"email": f"p{i}@example.org"}} for i in range(3)]
    batch = base64.b64encode(json.dumps(people).encode()).decode()
    sent = await client.post(
        "/send/email/batch",
        json={"recipientInfo": {"batchEmailAsBase64": batch}, "emailContent": content},
        headers=key,
    )
    assert sent.status_code == 200, sent.text
    uid = sent.json()["requestUid"]
    single = await client.post(
        "/send/email/single",
        json={"recipientInfo": {"email": "q@example.org"}, "emailContent": content},
        headers=key,
    )
    assert single.status_code == 200
    every = {"status": ["scheduled", "delivered"]}
    before = await client.get("/status/email", headers={**key, "requestUid": uid}, params=every)
    assert before.json()["scheduled"] == 3
    await relay_all(notification_worker(container, smtp.port))
    after = await client.get("/status/email", headers={**key, "requestUid": uid}, params=every)
    assert after.json()["delivered"] == 3
    assert sorted(str(m["To"]) for m in smtp.mailbox.messages) == [
        "p0@example.org",
        "p1@example.org",
        "p2@example.org",
        "q@example.org",
    ]
    refused = await client.post(
        "/send/email/single",
        json={"recipientInfo": {"email": "q@example.org"}, "emailContent": content},
        headers={"apiKey": other.key},
    )
    anonymous = await client.get("/status/email", headers={"requestUid": uid}, params=every)
    bad = await client.post(
        "/send/email/batch",
        json={"recipientInfo": {"batchEmailAsBase64": "!!"}, "emailContent": content},
        headers=key,
    )
    assert refused.status_code == 403
    assert anonymous.status_code == 401
    assert bad.status_code == 422


async def _written(container: Container) -> tuple[int, int, int]:
    """Deliveries, outbox rows and messaging audit entries (a refusal adds none)."""
    async with container.uow() as uow:
        s = uow.session
        return (
            int(await s.scalar(select(func.count()).select_from(DeliveryRow)) or 0),
            int(await s.scalar(select(func.count()).select_from(OutboxRow)) or 0),
            int(
                await s.scalar(
                    select(func.count())
                    .select_from(AuditEntryRow)
                    .where(AuditEntryRow.action == "messaging.email_queued")
                )
                or 0
            ),
        )


def _batch(count: int) -> str:
    people = [{"recipientInfo": {"email": f"r{i}@example.org"}} for i in range(count)]
    return base64.b64encode(json.dumps(people).encode()).decode()


CONTENT = {"title": "Tax reminder", "content": "Pay by Friday"}
SINGLE = {"recipientInfo": {"email": "q@example.org"}, "emailContent": CONTENT}

# Who may send one e-mail through the facade (people never; machines only with the scope).
SENDERS = [
    ("machine client with messaging:send", 200),
    ("machine client with applications:read", 403),
    ("priya", 403),  # the operator: a person
    ("olivia", 403),
    ("grace", 403),
    ("ada", 403),
    ("alice", 403),
    ("anonymous", 401),
]


async def test_only_machine_clients_with_the_scope_send_and_every_send_is_audited(
    container: Container, client: httpx.AsyncClient
) -> None:
    mailer = await create_api_key(
        container.uow(),
        container.clock,
        name="tax-mailer",
        department="tax",
        scopes=["messaging:send"],
    )
    reader = await create_api_key(
        container.uow(),
        container.clock,
        name="tax-reader",
        department="tax",
        scopes=["applications:read"],
    )
    headers: dict[str, dict[str, str]] = {
        "machine client with messaging:send": {"apiKey": mailer.key},
        "machine client with applications:read": {"apiKey": reader.key},
        "anonymous": {},
    }
    for caller, want in SENDERS:
        before = await _written(container)
        got = await client.post(
            "/send/email/single", json=SINGLE, headers=headers.get(caller) or as_persona(caller)
        )
        assert got.status_code == want, f"{caller}: {got.text}"
        after = await _written(container)
        assert after == (before if want != 200 else (before[0] + 1, before[1] + 1, before[2] + 1))

    async with container.uow() as uow:
        entries = list(
            await uow.session.scalars(
                select(AuditEntryRow).where(AuditEntryRow.action == "messaging.email_queued")
            )
        )
    assert [(e.actor, e.department, e.details) for e in entries] == [
        (
            f"api-key:client:{mailer.client.prefix}",
            "tax",
            {"client": f"client:{mailer.client.prefix}", "recipients": 1},
        )
    ]
    assert "q@example.org" not in json.dumps(entries[0].details)


async def test_a_call_names_at_most_fifty_recipients(
    container: Container, client: httpx.AsyncClient
) -> None:
    mailer = await create_api_key(
        container.uow(),
        container.clock,
        name="tax-mailer",
        department="tax",
        scopes=["messaging:send"],
    )
    key = {"apiKey": mailer.key}
    before = await _written(container)
    for count in (51, 200):
        refused = await client.post(
            "/send/email/batch",
            json={"recipientInfo": {"batchEmailAsBase64": _batch(count)}, "emailContent": CONTENT},
            headers=key,
        )
        assert refused.status_code == 422, count
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in refused.json()["errors"]] == [
            "recipientInfo.batchEmailAsBase64"
        ]
        assert "50" in refused.json()["errors"][0]["message"]
    assert await _written(container) == before

    fifty = await client.post(
        "/send/email/batch",
        json={"recipientInfo": {"batchEmailAsBase64": _batch(50)}, "emailContent": CONTENT},
        headers=key,
    )
    assert fifty.status_code == 200, fifty.text
    assert await _written(container) == (before[0] + 50, before[1] + 50, before[2] + 1)


async def test_a_client_reads_the_status_of_its_own_requests_only(
    container: Container, client: httpx.AsyncClient
) -> None:
    keys = [
        await create_api_key(
            container.uow(),
            container.clock,
            name=name,
            department=department,
            scopes=["messaging:send"],
        )
        for name, department in (("tax-mailer", "tax"), ("labour-mailer", "labour"))
    ]
    sent = await client.post("/send/email/single", json=SINGLE, headers={"apiKey": keys[0].key})
    uid = sent.json()["requestUid"]
    scheduled = {"status": "scheduled"}
    own = await client.get(
        "/status/email", headers={"apiKey": keys[0].key, "requestUid": uid}, params=scheduled
    )
    assert own.status_code == 200
    assert own.json()["scheduled"] == 1
    other = await client.get(
        "/status/email", headers={"apiKey": keys[1].key, "requestUid": uid}, params=scheduled
    )
    assert other.status_code == 404


async def test_a_batch_is_bounded_by_what_fifty_recipients_can_take(container: Container) -> None:
    """Issue 16: 2,000,000 characters were read and decoded before the 50-recipient check. Now
    the bound is the base64 of 50 of the longest recipients (426,668 characters)."""
    # the default body limit (1 MiB), not the suite's 64 KiB: the field's own bound is tested
    reconfigure(container, container.settings.model_copy(update={"max_body_bytes": 1_048_576}))
    transport = httpx.ASGITransport(app=create_app(container))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        await _bounded_batch(container, client)


async def _bounded_batch(container: Container, client: httpx.AsyncClient) -> None:
    mailer = await create_api_key(
        container.uow(),
        container.clock,
        name="tax-mailer",
        department="tax",
        scopes=["messaging:send"],
    )
    key = {"apiKey": mailer.key}
    before = await _written(container)
    oversize = await client.post(
        "/send/email/batch",
        json={"recipientInfo": {"batchEmailAsBase64": "A" * 426_672}, "emailContent": CONTENT},
        headers=key,
    )
    assert oversize.status_code == 422
    assert [(e["field"], e["rule"]) for e in oversize.json()["errors"]] == [
        ("recipientInfo.batchEmailAsBase64", "string_too_long")
    ]
    assert await _written(container) == before

    # 50 of the longest recipients (every character escaped in the JSON) still fit.
    face = "\U0001f600"
    longest = {"email": f"{face * 310}@{face * 4}.{face * 4}", "name": face * 200}
    people = [{"recipientInfo": longest} for _ in range(50)]
    batch = base64.b64encode(json.dumps(people).encode()).decode()
    assert 400_000 < len(batch) <= 426_668
    fifty = await client.post(
        "/send/email/batch",
        json={"recipientInfo": {"batchEmailAsBase64": batch}, "emailContent": CONTENT},
        headers=key,
    )
    assert fifty.status_code == 200, fifty.text
    assert await _written(container) == (before[0] + 50, before[1] + 50, before[2] + 1)
    documented = (await client.get("/api/v1/openapi.json")).json()["components"]["schemas"]
    field = documented["BatchRecipients"]["properties"]["batchEmailAsBase64"]
    assert (field["maxLength"], field["pattern"]) == (426_668, "^[A-Za-z0-9+/]*={0,2}$")
