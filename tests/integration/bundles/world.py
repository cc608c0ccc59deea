"""Deployments of one test: each environment with its database, keys, blueprints and clock
(ADR 0052), and a change approved in one of them."""

# ruff: noqa: S608 -- row counts of tables named by constants of this module, never from input

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from civicloom.audit import Keyring, load_or_create_keyring
from civicloom.bootstrap import build_container
from civicloom.governance import (
    ChangeKind,
    ChangeState,
    Workspace,
    approve_change,
    draft_change,
    edit_draft,
    submit_change,
)
from civicloom.kernel import FixedClock, Principal
from civicloom.rules import RuleBook
from civicloom.runtime import Container
from civicloom.settings import PROJECT_ROOT, Profile, Settings

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
AGREEMENT = "DSA-2025-101"  # the business register for licence applications, local-admin's
SAM = Principal("sam", "Sam Service-Owner", frozenset({"service-owner"}), "local-admin", "dev")
RITA = Principal("rita", "Rita Rule-Owner", frozenset({"rule-owner"}), "local-admin", "dev")
CARLA = Principal("carla", "Carla Central", frozenset({"quality-gate"}), None, "dev")
OPERATOR = Principal("ops", "Operator", frozenset({"operator"}), None, "cli")
COUNTED = ("governance_bundles", "governance_change_requests", "audit_entries")


@dataclass
class Deployment:
    """One environment: its container (database, keys), its blueprints copy, its clock."""

    name: str
    container: Container
    ws: Workspace
    keyring: Keyring

    async def counts(self) -> dict[str, int]:
        async with self.container.uow() as uow:
            return {
                t: int(await uow.session.scalar(text(f"SELECT count(*) FROM {t}")) or 0)
                for t in COUNTED
            }


def deployment(name: str, url: str, root: Path, trusted: dict[str, Path]) -> Deployment:
    blueprints = root / "blueprints"
    shutil.copytree(PROJECT_ROOT / "blueprints", blueprints)
    settings = Settings(
        profile=Profile.TEST,
        database_url=url,
        var_dir=root / "var",
        log_json=True,
        environment_name=name,
        bundle_trusted_sources=trusted,
    )
    container = build_container(settings)
    keyring = load_or_create_keyring(settings.effective_keys_dir, create=True)
    book = RuleBook.from_directory(blueprints / "rules")
    return Deployment(name, container, Workspace(blueprints, book, environment=name), keyring)


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def write(path: Path, content: str) -> None:
    path.write_text(content, encoding="utf-8")


def remove(path: Path) -> None:
    path.unlink()


def files(folder: Path, pattern: str) -> list[Path]:
    return list(folder.glob(pattern))


async def approved_in(test: Deployment, agreement: str = AGREEMENT) -> str:
    """Sam amends the legal basis of one of local-admin's agreements; Rita (local-admin's rule
    owner) and Carla (the central team) approve it in test."""
    clock = FixedClock(NOW)
    uow = test.container.uow
    change_id = await draft_change(
        uow(),
        clock,
        test.ws,
        SAM,
        kind=ChangeKind.AGREEMENT,
        target=agreement,
        title="Cite the 2026 amendment",
    )
    path = f"agreements/{agreement}.yaml"
    text = read(test.ws.blueprints_dir / path)
    amended = re.sub(r"^(legal_basis: .*)$", r"\1 (amended 2026)", text, flags=re.MULTILINE)
    assert amended != text
    await edit_draft(uow(), clock, SAM, change_id, {path: amended})
    submitted = await submit_change(uow(), clock, test.ws, SAM, change_id, NOW + timedelta(days=7))
    assert submitted.required == ("local-admin", "central")
    await approve_change(uow(), clock, RITA, change_id)
    change = await approve_change(uow(), clock, CARLA, change_id)
    assert change.state is ChangeState.APPROVED
    return change_id
