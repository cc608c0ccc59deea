"""The GovStack Messaging facade: API-key authenticated email sending and status."""

from __future__ import annotations

import base64
import json

import httpx

from civicloom.identity import create_api_key
from civicloom.runtime import Container
from tests.integration.notifications.conftest import SmtpServer, notification_worker, relay_all


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
    before = await client.get("/status/email", headers={**key, "requestUid": uid})
    assert before.json()["scheduled"] == 3
    await relay_all(notification_worker(container, smtp.port))
    after = await client.get("/status/email", headers={**key, "requestUid": uid})
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
    anonymous = await client.get("/status/email", headers={"requestUid": uid})
    bad = await client.post(
        "/send/email/batch",
        json={"recipientInfo": {"batchEmailAsBase64": "!!"}, "emailContent": content},
        headers=key,
    )
    assert refused.status_code == 403
    assert anonymous.status_code == 401
    assert bad.status_code == 422
