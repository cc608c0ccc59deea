"""Portal fixtures: Alice signed in by the dev login or through the real OpenID provider."""

from __future__ import annotations

import httpx
import pytest

from civicloom.runtime import Container
from civicloom.settings import Settings
from tests.integration.identity.conftest import (  # noqa: F401 (fixtures)
    oidc_provider,
    oidc_settings,
)
from tests.logins import LOGINS, signed_in
from tests.wiring import reconfigure


async def _signed_in(
    request: pytest.FixtureRequest, client: httpx.AsyncClient, container: Container, person: str
) -> dict[str, str]:
    if request.param == "oidc":
        settings: Settings = request.getfixturevalue("oidc_settings")
        reconfigure(container, settings)  # the app trusts the test provider for citizens
    return {**await signed_in(request.param, client, container, person), "Accept": "text/html"}


@pytest.fixture(params=LOGINS)
async def alice(
    request: pytest.FixtureRequest, client: httpx.AsyncClient, container: Container
) -> dict[str, str]:
    """Alice's headers, signed in one way and then the other (the same test runs twice)."""
    return await _signed_in(request, client, container, "alice")


@pytest.fixture(params=LOGINS)
async def bob(
    request: pytest.FixtureRequest, client: httpx.AsyncClient, container: Container
) -> dict[str, str]:
    """Bob's headers, both ways; his provider claims Golden Dragon, which the register denies."""
    return await _signed_in(request, client, container, "bob")
