"""Shared helpers for the documents integration tests."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import func, select

from civicloom.documents.tables import DocumentRow
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.test_applications_api import restaurant

ALICE = as_persona("alice")
BOB = as_persona("bob")
OLIVIA = as_persona("olivia")
TARIQ = as_persona("tariq")


async def new_application(client: httpx.AsyncClient) -> str:
    """Alice applies to open a restaurant; returns the application id."""
    response = await client.post("/api/v1/applications", json=restaurant(), headers=ALICE)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def stored(container: Container) -> tuple[int, list[Path]]:
    """Document rows and files in the local store."""
    async with container.uow() as uow:
        rows = int(await uow.session.scalar(select(func.count()).select_from(DocumentRow)) or 0)
    root = container.settings.var_dir / "documents"
    files = [p for p in root.rglob("*") if p.is_file()] if root.exists() else []
    return rows, files
