"""docs/how-to/publish-a-capability.md, followed as written (ADR 0031): on a copy of the demo
world, its blocks declare and register a capability; the catalogue then shows it, and the
refusal the page prints is what ``civicloom departments sync`` says to the change it
describes."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from civicloom.bootstrap import build_container
from civicloom.catalogue import capability_entry
from civicloom.settings import PROJECT_ROOT, Profile, Settings
from tests.howtos import apply, snippets

PAGE = PROJECT_ROOT / "docs" / "how-to" / "publish-a-capability.md"


def _printed_refusal() -> list[str]:
    """The page's ``text`` block: what the refused change prints."""
    [block] = re.findall(r"^```text\n(.*?)^```", PAGE.read_text(encoding="utf-8"), re.M | re.S)
    return str(block).splitlines()


def _civicloom(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "civicloom", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_the_page_followed_as_written(tmp_path: Path) -> None:
    root = tmp_path / "project"
    shutil.copytree(PROJECT_ROOT / "blueprints", root / "blueprints")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT / "src"), str(PROJECT_ROOT)]),
        "CIVICLOOM_PROFILE": "embedded",
        "CIVICLOOM_BLUEPRINTS_DIR": str(root / "blueprints"),
        "CIVICLOOM_VAR_DIR": str(tmp_path / "var"),
        "CIVICLOOM_DATABASE_URL": "",  # the SQLite database in the var dir
        "COLUMNS": "200",
    }
    assert (await asyncio.to_thread(_civicloom, root, env, "db", "upgrade")).returncode == 0
    found = snippets(PAGE)
    assert [(s.title, s.append) for s in found] == [
        ("shell", None),
        ("blueprints/departments/tax.yaml", "capabilities"),
        ("shell", None),
    ]
    outputs = [apply(snippet, root, env) for snippet in found]
    assert (
        "departments synced: 4 (environment, labour, local-admin, tax), 1 new or changed"
        in (outputs[2][0])
    )
    assert "tax.taxpayer_standing" not in (
        PROJECT_ROOT / "blueprints/departments/tax.yaml"
    ).read_text(encoding="utf-8")

    container = build_container(
        Settings(
            profile=Profile.EMBEDDED,
            blueprints_dir=root / "blueprints",
            var_dir=tmp_path / "var",
            database_url="",
        )
    )
    try:
        async with container.uow() as uow:
            entry = await capability_entry(uow.session, "tax.taxpayer_standing")
    finally:
        await container.database.dispose()
    assert (entry.department, entry.connector_kind, entry.version, entry.used_by) == (
        "tax",
        "rest",
        1,
        (),
    )
    assert (entry.sla.response_seconds, entry.sla.availability_percent) == (10, 99.9)
    assert entry.output_schema["required"] == ["registration_number", "standing"]

    # Step 4's example: tax_office required by tax.clearance_check is refused as printed.
    tax = root / "blueprints" / "departments" / "tax.yaml"
    raw = yaml.safe_load(tax.read_text(encoding="utf-8"))
    (clearance,) = [c for c in raw["capabilities"] if c["id"] == "tax.clearance_check"]
    clearance["input_schema"]["required"].append("tax_office")
    clearance["input_schema"]["properties"]["tax_office"] = {"type": "string"}
    tax.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    refused = await asyncio.to_thread(_civicloom, root, env, "departments", "sync")
    assert refused.returncode == 1
    assert refused.stdout.splitlines() == _printed_refusal()
