"""``civicloom departments check`` against a running simulator."""

from __future__ import annotations

from typer.testing import CliRunner

from civicloom.connectors.cli import build_app
from tests.simulators.harness import SimProcess


def test_check_shows_a_table_and_fails_when_any_is_down(tax_sim: SimProcess) -> None:
    """The tax simulator is up (healthy row); the others are not running (exit code 1)."""
    app = build_app(lambda _settings: {"tax": tax_sim.url})
    result = CliRunner().invoke(app, ["check"], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    rows = {line.split("│")[1].strip(): line for line in result.output.splitlines() if "│" in line}
    assert "yes" in rows["tax"]
    assert "no" in rows["environment"]


def test_capabilities_lists_every_capability() -> None:
    """Each declared capability appears with its connector kind."""
    result = CliRunner().invoke(build_app(), ["capabilities"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "tax.clearance_check" in result.output
    assert "environment.screening" in result.output
