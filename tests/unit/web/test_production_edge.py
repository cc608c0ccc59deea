"""The production profile's web edge, without a database: no development surfaces, HSTS, Secure
cookies, and the same security headers as everywhere (ADR 0035)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import Response
from fastapi.routing import iter_route_contexts
from pydantic import SecretStr, ValidationError

from civicloom.app import create_app
from civicloom.bootstrap import build_container
from civicloom.settings import Settings
from civicloom.web.session import set_session_cookie

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self' https://id.example.gov https://pay.example.gov; frame-ancestors 'none'"
)


def production(tmp_path: Path, **overrides: object) -> Settings:
    """Production settings; the database is never reached by these tests."""
    values: dict[str, object] = {
        "profile": "production",
        "secret_key": SecretStr("p" * 40),
        "database_url": "postgresql+asyncpg://civicloom@127.0.0.1:1/never-connected",
        "keys_dir": tmp_path / "keys",
        "var_dir": tmp_path / "var",
        "payments_webhook_secret": SecretStr("w" * 40),
        "metrics_token": SecretStr("m" * 32),
        "smtp_host": "mail.example.gov",
        "payments_provider_url": "https://pay.example.gov/api/v1",
        "oidc_citizen_issuer": "https://id.example.gov/realms/citizens",
        "oidc_citizen_client_id": "civicloom",
        **overrides,
    }
    return Settings.model_validate(values)


@pytest.fixture
async def prod_client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(build_container(production(tmp_path)))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://civicloom.example") as c:
        yield c


def test_production_refuses_the_dev_login_setting(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="dev_login must be off in production"):
        production(tmp_path, dev_login=True)


def test_production_app_has_no_development_routes(tmp_path: Path) -> None:
    app = create_app(build_container(production(tmp_path)))
    paths = {str(context.path) for context in iter_route_contexts(app.routes)}
    assert "/auth/dev-login" not in paths
    assert "/dev/mail" not in paths
    assert "/dev/mail/{message_id}" not in paths
    assert "/auth/login" in paths  # the real sign-in is there


async def test_production_answers_404_for_development_surfaces(
    prod_client: httpx.AsyncClient,
) -> None:
    assert (await prod_client.get("/auth/dev-login")).status_code == 404
    form = {"persona": "priya", "csrf_token": "x"}
    assert (await prod_client.post("/auth/dev-login", data=form)).status_code == 404
    assert (await prod_client.get("/dev/mail")).status_code == 404
    # A demo-persona bearer token means nothing in production.
    response = await prod_client.get("/auth/me", headers={"Authorization": "Bearer dev:priya"})
    assert response.status_code == 401


async def test_production_sends_hsts_and_the_security_headers(
    prod_client: httpx.AsyncClient,
) -> None:
    response = await prod_client.get("/api/v1/docs")
    assert response.status_code == 200
    assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    assert response.headers["content-security-policy"] == CSP
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"


async def test_production_language_cookie_is_secure(prod_client: httpx.AsyncClient) -> None:
    response = await prod_client.get("/language/zh-Hans?next=/")
    cookie = response.headers["set-cookie"]
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie


def test_production_session_cookie_is_secure_httponly_samesite(tmp_path: Path) -> None:
    response = Response()
    set_session_cookie(response, "session-token-value", production(tmp_path))
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("civicloom_session=session-token-value;")
    assert "; Secure" in cookie
    assert "; HttpOnly" in cookie
    assert "; SameSite=lax" in cookie
