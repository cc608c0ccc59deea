"""The two ways a citizen signs in, for tests that must pass with both (issue 17): the dev
login's ``Bearer dev:<persona>`` and a real OpenID Connect sign-in at ``tests/oidc``'s provider,
whose session cookie (with a CSRF token bound to it) the returned headers carry."""

from __future__ import annotations

import secrets

import httpx

from civicloom.runtime import Container
from civicloom.web.csrf import CSRF_COOKIE, sign_csrf
from civicloom.web.session import SESSION_COOKIE
from tests.conftest import as_persona
from tests.oidc.harness import login_at_provider

LOGINS = ("dev-login", "oidc")


async def oidc_sign_in(
    client: httpx.AsyncClient, container: Container, login: str
) -> dict[str, str]:
    """Sign ``login`` in through the citizens' provider; the headers of that browser session."""
    begun = await client.get("/auth/login", params={"audience": "citizen", "next": "/auth/me"})
    assert begun.status_code == 303, begun.text[:500]
    base = str(client.base_url).rstrip("/")
    back = await login_at_provider(
        begun.headers["location"], login, f"{base}/auth/callback/citizen"
    )
    done = await client.get(back)
    assert done.status_code == 303, done.text[:500]
    session = client.cookies[SESSION_COOKIE]
    client.cookies.clear()  # each request names its own session (several people, one client)
    value = secrets.token_urlsafe(32)
    key = container.settings.secret_key.get_secret_value().encode()
    return {
        "Cookie": f"{SESSION_COOKIE}={session}; {CSRF_COOKIE}={value}",
        "X-CSRF-Token": sign_csrf(key, value, session),
    }


async def signed_in(
    how: str, client: httpx.AsyncClient, container: Container, person: str
) -> dict[str, str]:
    """Headers of ``person`` signed in ``how`` (one of ``LOGINS``)."""
    if how == "dev-login":
        return as_persona(person)
    return await oidc_sign_in(client, container, person)
