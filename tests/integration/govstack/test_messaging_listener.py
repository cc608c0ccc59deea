"""The Messaging facade on the GovStack listener reaches the notifications pipeline: deliveries
through the outbox, an audit entry per request; refusals write nothing."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from sqlalchemy import select

from civicloom.audit.tables import AuditEntryRow
from civicloom.notifications.tables import DeliveryRow
from civicloom.outbox.tables import OutboxRow
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.govstack.conftest import AuditActions, CountRows, MachineKey

CONTENT = {"title": "Reminder", "content": "Pay by Friday"}
WITH_COPIES = {
    "recipientInfo": {
        "email": "to@example.org",
        "emailCC": "cc@example.org",
        "emailBCC": "bcc@example.org",
    },
    "emailContent": CONTENT,
}


async def _written(count_rows: CountRows, audit_actions: AuditActions) -> tuple[int, int, int]:
    return (
        await count_rows(DeliveryRow),
        await count_rows(OutboxRow),
        len(await audit_actions("messaging.")),
    )


async def test_single_with_copies_queues_three_deliveries_and_one_audit_entry(
    container: Container,
    gs_client: httpx.AsyncClient,
    machine_key: MachineKey,
    count_rows: CountRows,
    audit_actions: AuditActions,
) -> None:
    key = await machine_key("messaging:send")
    before = await _written(count_rows, audit_actions)
    sent = await gs_client.post("/send/email/single", json=WITH_COPIES, headers={"api_key": key})
    assert sent.status_code == 200, sent.text
    uid = sent.json()["requestUID"]
    assert sent.json()["requestUid"] == uid
    assert await _written(count_rows, audit_actions) == (
        before[0] + 3,
        before[1] + 3,
        before[2] + 1,
    )
    async with container.uow() as uow:
        to = sorted(
            await uow.session.scalars(
                select(DeliveryRow.address).where(DeliveryRow.batch_id == uid)
            )
        )
        entry = await uow.session.scalar(
            select(AuditEntryRow).where(AuditEntryRow.subject_id == uid)
        )
    assert to == ["bcc@example.org", "cc@example.org", "to@example.org"]
    assert entry is not None
    assert (entry.action, entry.details["recipients"]) == ("messaging.email_queued", 3)

    status = await gs_client.get(
        "/status/email",
        headers={"api_key": key, "requestUID": uid},
        params={"status[]": ["scheduled", "not sent"], "status": "delivered"},
    )
    assert status.json() == {"scheduled": 3, "not sent": 0, "delivered": 0}


async def test_a_batch_sent_to_the_single_route_reaches_every_recipient(
    gs_client: httpx.AsyncClient,
    machine_key: MachineKey,
    count_rows: CountRows,
    audit_actions: AuditActions,
) -> None:
    key = await machine_key("messaging:send")
    people = [{"recipientInfo": {"email": f"p{i}@example.org"}} for i in range(2)]
    batch = base64.b64encode(json.dumps(people).encode()).decode()
    sent = await gs_client.post(
        "/send/email/single",
        json={"recipientInfo": {"batchEmailAsBase64": batch}, "emailContent": CONTENT},
        headers={"apiKey": key},
    )
    assert sent.status_code == 200, sent.text
    assert await _written(count_rows, audit_actions) == (2, 2, 1)


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("no key", 405),
        ("unknown key", 405),
        ("key without messaging:send", 403),
        ("alice", 403),
        ("olivia", 403),
        ("priya", 403),
    ],
)
async def test_who_may_not_send_writes_nothing(
    gs_client: httpx.AsyncClient,
    machine_key: MachineKey,
    count_rows: CountRows,
    audit_actions: AuditActions,
    who: str,
    status: int,
) -> None:
    headers = {
        "no key": {},
        "unknown key": {"api_key": "cl_aaaaaaaaaa_" + "A" * 43},
        "key without messaging:send": {"api_key": await machine_key("applications:read")},
    }.get(who) or as_persona(who)
    refused = await gs_client.post("/send/email/single", json=WITH_COPIES, headers=headers)
    assert refused.status_code == status
    assert refused.headers["content-type"] == "application/json"
    assert await _written(count_rows, audit_actions) == (0, 0, 0)


async def test_status_and_callback_of_another_clients_request_are_404(
    gs_client: httpx.AsyncClient, machine_key: MachineKey
) -> None:
    mine = await machine_key("messaging:send", department="tax", name="tax-mailer")
    theirs = await machine_key("messaging:send", department="labour", name="labour-mailer")
    sent = await gs_client.post("/send/email/single", json=WITH_COPIES, headers={"api_key": mine})
    uid = sent.json()["requestUID"]
    asked = {"status[]": ["scheduled"]}
    own = await gs_client.get(
        "/status/email", headers={"api_key": mine, "requestUID": uid}, params=asked
    )
    other = await gs_client.get(
        "/status/email", headers={"api_key": theirs, "requestUID": uid}, params=asked
    )
    callback = {"meta": "m", "content": "Yw=="}
    own_callback = await gs_client.post(
        "/callback/email", json=callback, headers={"api_key": mine, "requestUID": uid}
    )
    other_callback = await gs_client.post(
        "/callback/email", json=callback, headers={"api_key": theirs, "requestUID": uid}
    )
    assert (own.status_code, other.status_code) == (200, 404)
    assert (own_callback.status_code, other_callback.status_code) == (200, 404)


async def test_invalid_input_answers_405_with_a_json_body_naming_the_field(
    gs_client: httpx.AsyncClient,
    machine_key: MachineKey,
    count_rows: CountRows,
    audit_actions: AuditActions,
) -> None:
    key = await machine_key("messaging:send")
    bad = await gs_client.post(
        "/send/email/single",
        json={"recipientInfo": {"email": "not-an-address"}, "emailContent": CONTENT},
        headers={"api_key": key},
    )
    assert bad.status_code == 405
    assert bad.headers["allow"] == "POST"
    assert [e["field"] for e in bad.json()["errors"]] == ["recipientInfo.email"]
    neither = await gs_client.post(
        "/send/email/batch",
        json={"recipientInfo": {"name": "Nobody"}, "emailContent": CONTENT},
        headers={"api_key": key},
    )
    assert neither.status_code == 405
    assert [e["field"] for e in neither.json()["errors"]] == ["recipientInfo.email"]
    assert await _written(count_rows, audit_actions) == (0, 0, 0)


async def test_the_main_app_keeps_the_native_status_codes(
    client: httpx.AsyncClient, machine_key: MachineKey
) -> None:
    """Only the GovStack listener speaks the suite's 405: the native API says 401 and 422."""
    key = await machine_key("messaging:send")
    anonymous = await client.post("/send/email/single", json=WITH_COPIES)
    no_status = await client.get("/status/email", headers={"api_key": key, "requestUID": "x"})
    assert (anonymous.status_code, no_status.status_code) == (401, 422)
    assert [e["field"] for e in no_status.json()["errors"]] == ["status"]
