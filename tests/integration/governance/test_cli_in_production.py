"""In production a blueprint or a decision model changes only through an approved change
request: the direct CLI commands exit 1 before reading or writing anything (ADR 0049)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from civicloom import cli as root_cli
from civicloom.catalogue import cli as catalogue_cli
from civicloom.rules import cli as rules_cli
from civicloom.runtime import Container
from civicloom.settings import Profile
from tests.integration.governance.flow import count


@pytest.mark.parametrize(
    "args",
    [
        ["blueprint", "publish", "open-a-restaurant"],
        ["blueprint", "retire", "open-a-restaurant", "4"],
        ["rules", "publish", "local-admin/licence-fee@1"],
        ["rules", "retire", "local-admin/licence-fee@1"],
    ],
)
async def test_direct_publication_is_refused_in_production(
    container: Container, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    production = container.settings.model_copy(update={"profile": Profile.PRODUCTION})
    monkeypatch.setattr(catalogue_cli, "get_settings", lambda: production)
    monkeypatch.setattr(rules_cli, "get_settings", lambda: production)
    audit = await count(container, "audit_entries")
    versions = await count(container, "blueprint_versions")
    result = CliRunner().invoke(root_cli.app, args)
    assert result.exit_code == 1
    assert "refused in production: draft a change request in the back office" in " ".join(
        result.output.split()
    )
    assert await count(container, "audit_entries") == audit
    assert await count(container, "blueprint_versions") == versions
