"""S3-compatible storage against a real moto server process; retention purge."""

from __future__ import annotations

import io
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import boto3
import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from civicloom.audit.tables import AuditEntryRow
from civicloom.documents import purge_expired_documents
from civicloom.documents.adapters import S3DocumentStore, build_store
from civicloom.documents.tables import DocumentRow
from civicloom.kernel import FixedClock
from civicloom.runtime import Container
from civicloom.settings import Settings
from tests.conftest import unavailable
from tests.integration.documents.helpers import ALICE, new_application, stored
from tests.unit.documents import samples

BUCKET = "civicloom-documents"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server as a separate process, with our bucket."""
    port = _free_port()
    moto = Path(sys.executable).parent / "moto_server"
    proc = subprocess.Popen(
        [str(moto), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    try:
        while True:
            try:
                httpx.get(f"{url}/moto-api/", timeout=0.5)
                break
            except httpx.TransportError as exc:
                if proc.poll() is not None or time.monotonic() > deadline:
                    unavailable("moto_server", exc)
                time.sleep(0.05)
        client = boto3.client(
            "s3", endpoint_url=url, region_name="us-east-1",
            aws_access_key_id="testing", aws_secret_access_key="testing",
        )  # fmt: skip
        client.create_bucket(Bucket=BUCKET)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def s3_store(endpoint: str) -> S3DocumentStore:
    """Our adapter pointed at the moto server."""
    return S3DocumentStore(
        BUCKET, endpoint_url=endpoint, access_key_id="testing", secret_access_key="testing"
    )


async def test_s3_adapter_round_trip(s3_endpoint: str) -> None:
    store = s3_store(s3_endpoint)
    key = "applications/x/doc-1"
    assert not await store.exists(key)
    await store.put(key, io.BytesIO(b"%PDF-1.7 bytes"), "application/pdf")
    assert await store.exists(key)
    assert await store.get(key) == b"%PDF-1.7 bytes"
    await store.delete(key)
    assert not await store.exists(key)
    with pytest.raises(KeyError):
        await store.get(key)


@pytest.fixture
def settings(settings: Settings, s3_endpoint: str) -> Settings:
    """Documents in S3 for this module's API tests."""
    return settings.model_copy(
        update={
            "document_storage": "s3",
            "s3_endpoint_url": s3_endpoint,
            "s3_bucket": BUCKET,
            "s3_access_key_id": "testing",
            "s3_secret_access_key": SecretStr("testing"),
        }
    )


async def test_uploads_go_to_s3_and_expired_ones_are_purged(
    client: httpx.AsyncClient, container: Container, s3_endpoint: str
) -> None:
    app_id = await new_application(client)
    response = await client.post(
        f"/api/v1/applications/{app_id}/documents",
        data={"document_type": "floor_plan"},
        files={"file": ("plan.png", samples.png(4, 4))},
        headers=ALICE,
    )
    assert response.status_code == 201, response.text
    doc = response.json()
    assert await stored(container) == (1, [])  # nothing on the local disk
    store = s3_store(s3_endpoint)
    async with container.uow() as uow:
        row = await uow.session.get(DocumentRow, doc["id"])
        assert row is not None
        assert row.storage == "s3"
        key = row.storage_key
    assert await store.get(key) == samples.png(4, 4)
    assert isinstance(build_store(container.settings), S3DocumentStore)

    # A floor plan is kept six years after the application closes (the blueprint's retention,
    # ADR 0050): never while it is open, however long that is.
    clock = FixedClock(container.clock.now())
    assert await purge_expired_documents(container.uow(), store, clock) == []
    clock.advance(timedelta(days=7 * 366))
    assert await purge_expired_documents(container.uow(), store, clock, dry_run=True) == []
    withdrawn = await client.post(f"/api/v1/applications/{app_id}/withdrawal", headers=ALICE)
    assert withdrawn.status_code == 204  # closed today: six years later is before the clock
    due = await purge_expired_documents(container.uow(), store, clock, dry_run=True)
    assert [d.id for d in due] == [doc["id"]]
    assert await store.exists(key)  # a dry run removes nothing
    purged = await purge_expired_documents(container.uow(), store, clock)
    assert [d.id for d in purged] == [doc["id"]]
    assert not await store.exists(key)
    async with container.uow() as uow:
        row = await uow.session.get(DocumentRow, doc["id"])
        actions = list(
            await uow.session.scalars(
                select(AuditEntryRow.action).where(AuditEntryRow.subject_id == app_id)
            )
        )
    assert row is not None
    assert row.purged_at is not None
    assert "document.purged" in actions
    listed = await client.get(f"/api/v1/applications/{app_id}/documents", headers=ALICE)
    assert listed.json() == []
