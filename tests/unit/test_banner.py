"""The ``civicloom run`` banner never prints a provider's credentials."""

from __future__ import annotations

from civicloom.supervisor import _without_credentials


def test_credentials_in_a_provider_url_are_masked() -> None:
    assert _without_credentials("https://user:key@psp.example/v1") == "https://***@psp.example/v1"


def test_a_url_without_credentials_is_shown_as_it_is() -> None:
    assert _without_credentials("http://127.0.0.1:8105") == "http://127.0.0.1:8105"
