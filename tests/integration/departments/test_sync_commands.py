"""``civicloom departments sync`` and ``civicloom agreements sync``: register what
``blueprints/`` declares without ``demo load``; running each twice gives the same rows, and only
a real change is stored (and audited) again."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from civicloom.audit.tables import AuditEntryRow
from civicloom.bootstrap import build_container
from civicloom.cli import app
from civicloom.departments.tables import DepartmentRow
from civicloom.registries.tables import AgreementRow
from civicloom.runtime import Container
from civicloom.settings import PROJECT_ROOT, Settings, get_settings


@pytest.fixture
def blueprints(tmp_path: Path) -> Path:
    """A copy of the demo blueprints the test may edit."""
    target = tmp_path / "blueprints"
    shutil.copytree(PROJECT_ROOT / "blueprints", target)
    return target


@pytest.fixture
async def empty(settings: Settings, blueprints: Path) -> AsyncIterator[Container]:
    """A container on a clean database (no demo load) reading the copied blueprints."""
    c = build_container(settings.model_copy(update={"blueprints_dir": blueprints}))
    yield c
    await c.database.dispose()


async def _cli(container: Container, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    monkeypatch.setenv("CIVICLOOM_PROFILE", "test")
    monkeypatch.setenv("CIVICLOOM_DATABASE_URL", container.settings.effective_database_url)
    monkeypatch.setenv("CIVICLOOM_VAR_DIR", str(container.settings.var_dir))
    monkeypatch.setenv("CIVICLOOM_BLUEPRINTS_DIR", str(container.settings.blueprints_dir))
    get_settings.cache_clear()
    try:  # the command runs its own event loop, so not on the test's loop
        result = await asyncio.to_thread(CliRunner().invoke, app, list(args))
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    return result


async def _departments(container: Container) -> list[tuple[str, str, Any, Any]]:
    async with container.uow() as uow:
        rows = await uow.session.scalars(select(DepartmentRow).order_by(DepartmentRow.id))
        return [(r.id, r.name_en, r.definition, r.updated_at) for r in rows]


async def _agreements(container: Container) -> list[tuple[str, str, str, Any]]:
    async with container.uow() as uow:
        rows = await uow.session.scalars(select(AgreementRow).order_by(AgreementRow.id))
        return [(r.id, r.capability, r.content_hash, r.loaded_at) for r in rows]


async def _audited(container: Container, action: str) -> list[str]:
    async with container.uow() as uow:
        rows = await uow.session.scalars(
            select(AuditEntryRow.subject_id)
            .where(AuditEntryRow.action == action)
            .order_by(AuditEntryRow.seq)
        )
        return list(rows)


async def test_departments_sync_twice_gives_the_same_rows(
    empty: Container, blueprints: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await _cli(empty, monkeypatch, "departments", "sync")
    assert "4 (environment, labour, local-admin, tax), 4 new or changed" in first.output
    rows = await _departments(empty)
    assert [(r[0], r[1]) for r in rows] == [
        ("environment", "Environment Department"),
        ("labour", "Labour Office"),
        ("local-admin", "Local Administration"),
        ("tax", "Tax Authority"),
    ]

    second = await _cli(empty, monkeypatch, "departments", "sync")
    assert "0 new or changed" in second.output
    assert await _departments(empty) == rows
    assert await _audited(empty, "department.registered") == [
        "environment",
        "labour",
        "local-admin",
        "tax",
    ]

    tax = blueprints / "departments" / "tax.yaml"
    tax.write_text(
        tax.read_text(encoding="utf-8").replace("behind a modern REST API", "over REST"),
        encoding="utf-8",
    )
    third = await _cli(empty, monkeypatch, "departments", "sync")
    assert "1 new or changed" in third.output
    changed = await _departments(empty)
    assert changed[3][2]["description"] == "Tax clearance and the taxpayer register, over REST."
    assert changed[:3] == rows[:3]
    assert (await _audited(empty, "department.registered"))[-1] == "tax"


async def test_agreements_sync_twice_gives_the_same_rows(
    empty: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await _cli(empty, monkeypatch, "agreements", "sync")
    assert "3 (DSA-2025-101, DSA-2025-102, DSA-2025-103), 3 new or changed" in first.output
    rows = await _agreements(empty)
    assert [(r[0], r[1]) for r in rows] == [
        ("DSA-2025-101", "local-admin.business_lookup"),
        ("DSA-2025-102", "tax.taxpayer_lookup"),
        ("DSA-2025-103", "local-admin.parcel_lookup"),
    ]

    second = await _cli(empty, monkeypatch, "agreements", "sync")
    assert "0 new or changed" in second.output
    assert await _agreements(empty) == rows
    assert await _audited(empty, "agreement.loaded") == [
        "DSA-2025-101",
        "DSA-2025-102",
        "DSA-2025-103",
    ]
