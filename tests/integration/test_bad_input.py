"""Bad input gets a clear 4xx naming the field and the rule, never a 500; what is refused leaves
nothing behind. Each test here failed on main before the inbound-text gate (kernel/text.py)."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from sqlalchemy import func, select

from civicloom.documents.tables import DocumentRow
from civicloom.identity import create_api_key
from civicloom.notifications.tables import DeliveryRow
from civicloom.outbox.tables import OutboxRow
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.test_applications_api import counts, restaurant

ALICE = as_persona("alice")
OLIVIA = as_persona("olivia")
PROBLEM = "application/problem+json"


def errors_of(response: httpx.Response) -> list[tuple[str, str]]:
    """(field, rule) of each error of a problem+json response."""
    assert response.headers["content-type"] == PROBLEM, response.text
    return [(e["field"], e["rule"]) for e in response.json()["errors"]]


# -- 1. query parameters are bounded ----------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "field", "rule"),
    [
        ("offset=9223372036854775808", "query:offset", "less_than_equal"),
        ("offset=1000001", "query:offset", "less_than_equal"),
        ("offset=-1", "query:offset", "greater_than_equal"),
        ("limit=201", "query:limit", "less_than_equal"),
        ("limit=0", "query:limit", "greater_than_equal"),
        ("state=open%00", "query:state", "string_pattern_mismatch"),
        ("service=" + "a" * 101, "query:service", "string_too_long"),
    ],
)
async def test_work_queue_paging_is_bounded(
    client: httpx.AsyncClient, query: str, field: str, rule: str
) -> None:
    response = await client.get(f"/api/v1/tasks?{query}", headers=OLIVIA)
    assert response.status_code == 422
    assert errors_of(response) == [(field, rule)]


async def test_the_deepest_page_is_served_empty(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/tasks?offset=1000000&limit=200", headers=OLIVIA)
    assert response.status_code == 200
    assert response.json() == []


@pytest.mark.parametrize(
    ("path", "who", "field"),
    [
        ("/api/v1/applications/a%00b", "alice", "path:application_id"),
        ("/api/v1/applications/a%00b/status", "alice", "path:application_id"),
        ("/api/v1/applications/a%00b/documents", "alice", "path:application_id"),
        ("/api/v1/tasks/a%00b", "olivia", "path:task_id"),
        ("/api/v1/licences/a%1Bb/verification", "alice", "path:licence_id"),
        # payments (a 500 on PostgreSQL before issue 16's schema2 work)
        ("/api/v1/applications/a%00b/payments", "alice", "path:application_id"),
        ("/api/v1/payments/a%00b", "alice", "path:payment_id"),
        ("/api/v1/payments/a%00b/receipt", "alice", "path:payment_id"),
        ("/api/v1/payments/reconciliations/a%00b", "priya", "path:reconciliation_id"),
        ("/api/v1/payments/reconciliations/a%00b/findings.csv", "priya", "path:reconciliation_id"),
        ("/api/v1/payments/reconciliations/a%7Fb", "priya", "path:reconciliation_id"),
    ],
)
async def test_a_control_character_in_a_path_id_is_a_422(
    client: httpx.AsyncClient, path: str, who: str, field: str
) -> None:
    # On PostgreSQL a NUL in a query parameter was a 500 (invalid byte sequence 0x00).
    response = await client.get(path, headers=as_persona(who))
    assert response.status_code == 422, response.text
    assert errors_of(response) == [(field, "string_pattern_mismatch")]


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/callbacks/tax%00", "path:department"),
        ("/api/v1/payments/webhooks/sandbox%00", "path:provider"),
    ],
)
async def test_a_control_character_in_a_signed_routes_path_is_a_422(
    client: httpx.AsyncClient, path: str, field: str
) -> None:
    response = await client.post(path, content=b"{}", headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert errors_of(response) == [(field, "string_pattern_mismatch")]


async def test_a_control_character_in_a_bill_id_is_a_422(
    client: httpx.AsyncClient, container: Container
) -> None:
    bank = await create_api_key(
        container.uow(),
        container.clock,
        name="Riverton Bank",
        department="local-admin",
        scopes=["payments:p2g"],
    )
    response = await client.get("/bills/a%00b", headers={"apiKey": bank.key})
    assert response.status_code == 422, response.text
    assert errors_of(response) == [("path:billId", "string_pattern_mismatch")]


@pytest.mark.parametrize(
    ("path", "who"),
    [
        ("/applications/a%00b", "alice"),
        ("/applications/a%00b/withdraw", "alice"),
        ("/drafts/a%00b/check", "alice"),
        ("/drafts/d/pages/a%00b", "alice"),
        ("/services/a%00b", "alice"),
        ("/services/a%00b/eligibility", "alice"),
        ("/verify/a%00b", "alice"),
        ("/performance/a%00b", "alice"),
        ("/backoffice/tasks/a%00b", "olivia"),
        ("/backoffice/tasks/t/documents/a%00b", "olivia"),
        ("/backoffice/services/a%00b/versions/1", "sam"),
        ("/backoffice/services/s/versions/99999999999999999999", "sam"),
    ],
)
async def test_a_control_character_in_a_page_address_is_the_styled_not_found_page(
    client: httpx.AsyncClient, path: str, who: str
) -> None:
    response = await client.get(path, headers={**as_persona(who), "Accept": "text/html"})
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert '<h1 class="govuk-heading-l">Page not found</h1>' in response.text


async def test_a_405_names_every_method_served_at_the_address(client: httpx.AsyncClient) -> None:
    # The router stopped at the first route matching the path: "Allow: POST" here, though GET
    # /api/v1/applications/{id}/documents is served too.
    documents = await client.options("/api/v1/applications/x/documents", headers=ALICE)
    one = await client.delete("/api/v1/applications/x", headers=ALICE)
    # GET /api/v1/payments/{payment_id} matches this path too, but the resource is the literal
    literal = await client.put("/api/v1/payments/reconciliations", headers=ALICE)
    assert documents.status_code == 405
    assert documents.headers["allow"] == "GET, POST"
    assert documents.headers["content-type"] == PROBLEM
    assert one.status_code == 405
    assert one.headers["allow"] == "GET"
    assert literal.status_code == 405
    assert literal.headers["allow"] == "POST"


# -- 2. a lone surrogate or a control character in application data ----------------------------
def raw_body(data_text: str) -> bytes:
    """A submission whose business name is ``data_text``, written as JSON source text (so a
    JSON escape such as ``\\ud800`` reaches the server as the escape, as a client would send)."""
    body = json.dumps(restaurant(business_name="@@NAME@@"))
    return body.replace('"@@NAME@@"', f'"{data_text}"').encode()


@pytest.mark.parametrize(
    ("source", "rule"),
    [
        ("\\ud800", "unicode"),  # a lone surrogate: not text at all; hashed it was a 500
        ("Golden\\udfffDragon", "unicode"),
        ("Golden\\u0007Dragon", "control-character"),
        ("Golden\\nDragon\\u0000", "control-character"),  # NUL: PostgreSQL would refuse it
        ("Golden\\u202eDragon", "bidi-control"),
    ],
)
async def test_bad_text_in_application_data_is_named_and_nothing_is_stored(
    client: httpx.AsyncClient, container: Container, source: str, rule: str
) -> None:
    before = await counts(container)
    response = await client.post(
        "/api/v1/applications",
        content=raw_body(source),
        headers={**ALICE, "Content-Type": "application/json", "Idempotency-Key": "key-12345678"},
    )
    assert response.status_code == 422, response.text
    assert errors_of(response) == [("data.business_name", rule)]
    assert await counts(container) == before


async def test_a_lone_surrogate_in_a_key_or_the_service_is_refused(
    client: httpx.AsyncClient, container: Container
) -> None:
    body = json.dumps(restaurant()).replace('"cuisine"', '"cuisine\\ud83d"').encode()
    response = await client.post(
        "/api/v1/applications", content=body, headers={**ALICE, "Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert errors_of(response) == [("data", "unicode")]
    body = json.dumps(restaurant()).replace('"open-a-restaurant"', '"open\\ud800"').encode()
    response = await client.post(
        "/api/v1/applications", content=body, headers={**ALICE, "Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert errors_of(response) == [("service", "string_unicode")]  # pydantic's own rule
    assert await counts(container) == (0, 0, 0)


async def test_text_is_stored_in_nfc(client: httpx.AsyncClient) -> None:
    # The premises address is the applicant's own text (the business name now comes from the
    # business register, ADR 0041, so it cannot carry what a keyboard sent).
    decomposed = "12 Rue de la Cafe\u0301 Lumie\u0300re"  # e + combining accents
    response = await client.post(
        "/api/v1/applications",
        json=restaurant(premises_address=decomposed),
        headers={**ALICE, "Idempotency-Key": "nfc-key-0001"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["data"]["premises_address"] == "12 Rue de la Caf\u00e9 Lumi\u00e8re"
    # The same request in composed form is the same request (the hash is taken after NFC).
    again = await client.post(
        "/api/v1/applications",
        json=restaurant(premises_address="12 Rue de la Caf\u00e9 Lumi\u00e8re"),
        headers={**ALICE, "Idempotency-Key": "nfc-key-0001"},
    )
    assert again.status_code == 200
    assert again.json()["id"] == response.json()["id"]


async def test_a_decision_reason_with_a_lone_surrogate_is_refused(
    client: httpx.AsyncClient,
) -> None:
    body = b'{"decision": "reject", "reason": "no \\ud800"}'
    response = await client.post(
        "/api/v1/tasks/01ANYTASK/decision",
        content=body,
        headers={**OLIVIA, "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert errors_of(response) == [("reason", "unicode")]


# -- 3. upload file names ---------------------------------------------------------------------
async def _new_application(client: httpx.AsyncClient) -> str:
    response = await client.post("/api/v1/applications", json=restaurant(), headers=ALICE)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _upload(disposition: bytes) -> bytes:
    return (
        b'--b0undary\r\nContent-Disposition: form-data; name="document_type"\r\n\r\n'
        b'floor_plan\r\n--b0undary\r\nContent-Disposition: form-data; name="file"; '
        + disposition
        + b"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4\n%%EOF\n\r\n--b0undary--\r\n"
    )


@pytest.mark.parametrize(
    ("disposition", "rule"),
    [
        (b"filename*=UTF-8''%ff.pdf", "file-name-encoding"),  # was a 500 (UnicodeDecodeError)
        (b"filename*=x-unknown''plan.pdf", "file-name-encoding"),
        (b"filename*=UTF-8''invoice%E2%80%AEfdp.exe", "bidi-control"),
        ('filename="invoice\u202efdp.exe"'.encode(), "bidi-control"),  # was stored invoicefdp.exe
        (b'filename="plan\x07.pdf"', "control-character"),
    ],
)
async def test_bad_upload_names_are_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, container: Container, disposition: bytes, rule: str
) -> None:
    app_id = await _new_application(client)
    response = await client.post(
        f"/api/v1/applications/{app_id}/documents",
        content=_upload(disposition),
        headers={**ALICE, "Content-Type": "multipart/form-data; boundary=b0undary"},
    )
    assert response.status_code == 422, response.text
    assert errors_of(response) == [("file", rule)]
    async with container.uow() as uow:
        rows = await uow.session.scalar(select(func.count()).select_from(DocumentRow))
    assert rows == 0
    root = container.settings.var_dir / "documents"
    assert not root.exists() or [p for p in root.rglob("*") if p.is_file()] == []


# -- 4. e-mail titles -------------------------------------------------------------------------
async def _messaging_key(container: Container) -> dict[str, str]:
    issued = await create_api_key(
        container.uow(),
        container.clock,
        name="tax-system",
        department="tax",
        scopes=["messaging:send"],
    )
    return {"apiKey": issued.key}


@pytest.mark.parametrize(
    ("title", "rule"),
    [
        ("Tax\nBcc: everyone@example.org", "control-character"),
        ("Tax\r\nreminder", "control-character"),
        ("Tax\x07reminder", "control-character"),
        ("Tax\u0085reminder", "control-character"),
        ("Tax\u202ereminder", "bidi-control"),
    ],
)
async def test_email_titles_with_control_characters_are_refused(
    client: httpx.AsyncClient, container: Container, title: str, rule: str
) -> None:
    key = await _messaging_key(container)
    content = {"title": title, "content": "Pay by Friday"}
    single = await client.post(
        "/send/email/single",
        json={"recipientInfo": {"email": "q@example.org"}, "emailContent": content},
        headers=key,
    )
    assert single.status_code == 422, single.text
    assert errors_of(single) == [("emailContent.title", rule)]
    people = [{"recipientInfo": {"email": "p@example.org"}}]
    batch = base64.b64encode(json.dumps(people).encode()).decode()
    batched = await client.post(
        "/send/email/batch",
        json={"recipientInfo": {"batchEmailAsBase64": batch}, "emailContent": content},
        headers=key,
    )
    assert batched.status_code == 422
    assert errors_of(batched) == [("emailContent.title", rule)]
    async with container.uow() as uow:
        deliveries = await uow.session.scalar(select(func.count()).select_from(DeliveryRow))
        events = await uow.session.scalar(select(func.count()).select_from(OutboxRow))
    assert (deliveries, events) == (0, 0)


async def test_recipients_with_control_characters_are_refused(
    client: httpx.AsyncClient, container: Container
) -> None:
    key = await _messaging_key(container)
    for recipient, field, rule in [
        ({"email": "q\x01@example.org"}, "recipientInfo.email", "string_pattern_mismatch"),
        (
            {"email": "q@example.org", "name": "Q\nBcc: all@example.org"},
            "recipientInfo.name",
            "control-character",
        ),
    ]:
        response = await client.post(
            "/send/email/single",
            json={"recipientInfo": recipient, "emailContent": {"title": "Hi", "content": "Text"}},
            headers=key,
        )
        assert response.status_code == 422
        assert errors_of(response) == [(field, rule)]
