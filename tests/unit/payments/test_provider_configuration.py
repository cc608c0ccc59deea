"""Without a payment provider URL and without a declared payments simulator, the platform says
which setting to give instead of failing with a bare KeyError."""

from __future__ import annotations

from pathlib import Path

import pytest

from civicloom.notifications.runtime import build_channels
from civicloom.payments import build_provider
from civicloom.settings import ConfigurationError, Profile, Settings


def _bare(tmp_path: Path) -> Settings:
    blueprints = tmp_path / "blueprints"  # a department's own folder: no simulators.yaml
    blueprints.mkdir()
    return Settings(profile=Profile.TEST, blueprints_dir=blueprints, var_dir=tmp_path / "var")


def test_a_missing_payment_provider_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="set payments_provider_url"):
        build_provider(_bare(tmp_path))


def test_a_configured_payment_provider_needs_no_simulator(tmp_path: Path) -> None:
    settings = _bare(tmp_path).model_copy(update={"payments_provider_url": "https://psp.example"})
    assert build_provider(settings).name == "sandbox"


def test_a_missing_sms_provider_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="set sms_provider_url"):
        build_channels(_bare(tmp_path))
