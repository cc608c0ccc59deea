"""Settings profiles and their safety rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from civicloom.settings import Profile, Settings, settings_reference

STRONG = "x" * 40


def test_embedded_defaults() -> None:
    s = Settings()
    assert s.profile is Profile.EMBEDDED
    assert s.dev_login_enabled
    assert s.effective_database_url.startswith("sqlite+aiosqlite:///")
    assert s.effective_database_url.endswith("var/civicloom.db")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"dev_login": True}, "dev_login must be off"),
        ({"secret_key": "change-me-dev-only-secret"}, "placeholder"),
        ({"secret_key": "short"}, "at least 32"),
        ({"database_url": ""}, "PostgreSQL"),
        ({"database_url": "sqlite+aiosqlite:///x.db"}, "PostgreSQL"),
        ({"metrics_token": None}, "/metrics needs metrics_token or metrics_networks"),
        ({"metrics_token": "short"}, "metrics_token must be at least 24 characters"),
    ],
)
def test_production_refuses_unsafe_settings(overrides: dict[str, object], message: str) -> None:
    values: dict[str, object] = {
        "profile": "production",
        "secret_key": STRONG,
        "database_url": "postgresql+asyncpg://civicloom@db/civicloom",
        "keys_dir": "/etc/civicloom/keys",
        "metrics_token": "m" * 32,
        **overrides,
    }
    with pytest.raises(ValidationError, match=message):
        Settings.model_validate(values)


def test_production_with_safe_settings_starts() -> None:
    s = Settings.model_validate(
        {
            "profile": "production",
            "secret_key": STRONG,
            "database_url": "postgresql+asyncpg://civicloom@db/civicloom",
            "keys_dir": "/etc/civicloom/keys",
            "metrics_networks": ["10.0.5.0/24"],
        }
    )
    assert not s.dev_login_enabled
    assert [str(n) for n in s.metrics_networks] == ["10.0.5.0/24"]


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIVICLOOM_PORT", "9123")
    monkeypatch.setenv("CIVICLOOM_PROFILE", "test")
    s = Settings()
    assert s.port == 9123
    assert s.profile is Profile.TEST


def test_every_setting_is_documented_and_the_reference_is_current() -> None:
    for name, info in Settings.model_fields.items():
        assert info.description, f"setting {name} has no description"
    committed = Path(__file__).resolve().parents[2] / "docs" / "reference" / "settings.md"
    assert committed.read_text(encoding="utf-8") == settings_reference(), (
        "docs/reference/settings.md is stale: run `civicloom docs settings`"
    )
