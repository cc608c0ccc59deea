"""Fixtures for identity tests: a real OpenID provider process and an app that trusts it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from pydantic import SecretStr

from civicloom.runtime import Container
from civicloom.settings import Settings
from tests.conftest import unavailable
from tests.oidc.harness import CLIENT_ID, CLIENT_SECRET, Provider, provider_available, run_provider
from tests.wiring import reconfigure

APP = "http://testserver"


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[Provider]:
    """One provider process for the session, redirecting to the in-process test app."""
    reason = provider_available()
    if reason:
        unavailable("the OpenID provider", RuntimeError(reason))
    with run_provider(
        [f"{APP}/auth/callback/citizen", f"{APP}/auth/callback/staff"], [f"{APP}/"]
    ) as provider:
        yield provider


@pytest.fixture
def oidc_settings(settings: Settings, oidc_provider: Provider) -> Settings:
    """Test settings with both audiences pointing at the provider."""
    return settings.model_copy(
        update={
            "public_url": APP,
            "oidc_citizen_issuer": oidc_provider.issuer,
            "oidc_citizen_client_id": CLIENT_ID,
            "oidc_citizen_client_secret": SecretStr(CLIENT_SECRET),
            "oidc_staff_issuer": oidc_provider.issuer,
            "oidc_staff_client_id": CLIENT_ID,
            "oidc_staff_client_secret": SecretStr(CLIENT_SECRET),
        }
    )


@pytest.fixture
async def oidc_container(oidc_settings: Settings, container: Container) -> Container:
    """The demo container, with the OIDC settings."""
    reconfigure(container, oidc_settings)
    return container


@pytest.fixture
async def app_client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client of the app that keeps cookies (like a browser)."""
    from civicloom.app import create_app

    transport = httpx.ASGITransport(app=create_app(container))
    async with httpx.AsyncClient(transport=transport, base_url=APP) as c:
        yield c


@pytest.fixture
async def oidc_client(oidc_container: Container) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process, cookie-keeping client of an app that trusts the test provider."""
    from civicloom.app import create_app

    transport = httpx.ASGITransport(app=create_app(oidc_container))
    async with httpx.AsyncClient(transport=transport, base_url=APP) as c:
        yield c


def csrf_from(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert match is not None, "no CSRF token on the page"
    return match[1]
