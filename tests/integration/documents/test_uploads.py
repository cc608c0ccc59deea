"""Uploading documents over HTTP: streamed, sniffed, limited; attacks leave nothing behind."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select

from civicloom.audit.tables import AuditEntryRow
from civicloom.runtime import Container
from civicloom.settings import Settings
from tests.integration.documents.helpers import ALICE, BOB, new_application, stored
from tests.unit.documents import samples

LIMIT = 256 * 1024


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A small upload limit, so oversize bodies are cheap to send."""
    return settings.model_copy(update={"document_max_bytes": LIMIT})


def upload_url(application_id: str) -> str:
    """Where an application's documents are posted."""
    return f"/api/v1/applications/{application_id}/documents"


async def test_upload_list_download_and_data_use(
    client: httpx.AsyncClient, container: Container
) -> None:
    app_id = await new_application(client)
    content = samples.pdf("Golden Dragon floor plan")
    response = await client.post(
        upload_url(app_id),
        data={"document_type": "floor_plan"},
        files={"file": ("Floor plan.pdf", content, "application/octet-stream")},
        headers=ALICE,
    )
    assert response.status_code == 201, response.text
    doc = response.json()
    assert doc["media_type"] == "application/pdf"  # sniffed, not the declared octet-stream
    assert doc["sha256"] == hashlib.sha256(content).hexdigest()
    assert doc["size_bytes"] == len(content)
    assert doc["filename"] == "Floor plan.pdf"

    listed = await client.get(upload_url(app_id), headers=ALICE)
    assert [d["id"] for d in listed.json()] == [doc["id"]]
    download = await client.get(f"{upload_url(app_id)}/{doc['id']}", headers=ALICE)
    assert download.status_code == 200
    assert download.content == content
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["x-content-type-options"] == "nosniff"

    # Bob may not see, add or read Alice's documents (404: existence does not leak).
    assert (await client.get(upload_url(app_id), headers=BOB)).status_code == 404
    assert (await client.get(f"{upload_url(app_id)}/{doc['id']}", headers=BOB)).status_code == 404

    async with container.uow() as uow:
        actions = list(
            await uow.session.scalars(
                select(AuditEntryRow.action).where(AuditEntryRow.subject_id == app_id)
            )
        )
    assert "document.stored" in actions
    assert "document.read" in actions
    uses = (await client.get("/api/v1/me/data-use", headers=ALICE)).json()
    # Her own download is not someone using her data (issue 19): it is audited, not listed.
    assert not any(u["fields"] == ["document:floor_plan"] for u in uses)
    assert all(u["application_id"] == app_id for u in uses)
    assert (await client.get("/api/v1/me/data-use", headers=BOB)).json() == []


@pytest.mark.parametrize("name", sorted(samples.ATTACKS))
async def test_attacks_are_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, container: Container, name: str
) -> None:
    content, filename, rule = samples.ATTACKS[name]
    app_id = await new_application(client)
    response = await client.post(
        upload_url(app_id),
        data={"document_type": "floor_plan"},
        files={"file": (filename, content, "application/pdf")},
        headers=ALICE,
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert (errors[0]["field"], errors[0]["rule"]) == ("file", rule)
    assert await stored(container) == (0, [])


def _multipart(boundary: str, size: int) -> list[bytes]:
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="document_type"\r\n\r\n'
        f'floor_plan\r\n--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="big.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4\n'
    ).encode()
    return [head, *([b"0" * 65536] * (size // 65536 + 1)), f"\r\n--{boundary}--\r\n".encode()]


async def test_oversize_bodies_are_refused_while_streaming(
    client: httpx.AsyncClient, container: Container
) -> None:
    app_id = await new_application(client)
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        for part in _multipart("b0undary", 4 * LIMIT):
            sent += len(part)
            yield part

    response = await client.post(
        upload_url(app_id),
        content=body(),  # no Content-Length: the limit must hold while the bytes arrive
        headers={**ALICE, "Content-Type": "multipart/form-data; boundary=b0undary"},
    )
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert await stored(container) == (0, [])

    declared = await client.post(
        upload_url(app_id),
        content=b"".join(_multipart("b0undary", 4 * LIMIT)),
        headers={**ALICE, "Content-Type": "multipart/form-data; boundary=b0undary"},
    )
    assert declared.status_code == 413


@pytest.mark.parametrize(
    ("data", "files", "field", "rule"),
    [
        (
            {"document_type": "passport"},
            {"file": ("a.pdf", samples.pdf())},
            "document_type",
            "known-type",
        ),
        (
            {"document_type": "lease"},
            {"file": ("a.png", samples.png())},
            "file",
            "type-not-allowed",
        ),
        (  # attack review: a review's document comes only with a request for a review
            {"document_type": "review-evidence"},
            {"file": ("a.pdf", samples.pdf())},
            "document_type",
            "known-type",
        ),
        ({}, {"file": ("a.pdf", samples.pdf())}, "document_type", "required"),
        ({"document_type": "lease"}, None, "file", "required"),
    ],
)
async def test_bad_forms_name_the_field(
    client: httpx.AsyncClient,
    container: Container,
    data: dict[str, str],
    files: dict[str, tuple[str, bytes]] | None,
    field: str,
    rule: str,
) -> None:
    app_id = await new_application(client)
    if files is None:  # a multipart body without a file part
        response = await client.post(
            upload_url(app_id),
            content=(
                b'--b\r\nContent-Disposition: form-data; name="document_type"\r\n\r\n'
                b"lease\r\n--b--\r\n"
            ),
            headers={**ALICE, "Content-Type": "multipart/form-data; boundary=b"},
        )
    else:
        response = await client.post(upload_url(app_id), data=data, files=files, headers=ALICE)
    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    assert (error["field"], error["rule"]) == (field, rule)
    assert await stored(container) == (0, [])
