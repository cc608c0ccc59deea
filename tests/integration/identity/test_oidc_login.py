"""OpenID Connect login against a real provider process: the happy path and every refusal."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import select

from civicloom.audit.tables import AuditEntryRow
from civicloom.identity import OidcClientConfig, OidcError, OidcRelyingParty
from civicloom.kernel import FixedClock, SystemClock
from civicloom.runtime import Container
from tests.integration.identity.conftest import APP, csrf_from
from tests.oidc.harness import CLIENT_ID, CLIENT_SECRET, Provider, login_at_provider

CALLBACK = f"{APP}/auth/callback/citizen"


async def start_login(client: httpx.AsyncClient, audience: str = "citizen") -> str:
    """Ask the app to log in; returns the provider URL it redirects to."""
    response = await client.get("/auth/login", params={"audience": audience, "next": "/auth/me"})
    assert response.status_code == 303, response.text
    return response.headers["location"]


async def audit_actions(container: Container) -> list[str]:
    """Identity audit actions, in order."""
    async with container.uow() as uow:
        actions = await uow.session.scalars(select(AuditEntryRow.action))
        return [a for a in actions if a.startswith("identity.")]


def relying_party(
    provider: Provider, clock: FixedClock | SystemClock | None = None
) -> OidcRelyingParty:
    """A relying party talking to the test provider directly."""
    config = OidcClientConfig(
        audience="citizen",
        issuer=provider.issuer,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uri=CALLBACK,
    )
    return OidcRelyingParty(config, clock or SystemClock())


async def provider_id_token(provider: Provider) -> tuple[str, str]:
    """A genuine ID token from the provider and its nonce."""
    party = relying_party(provider)
    begun = await party.begin()
    back = await login_at_provider(begun.url, "carol", CALLBACK)
    query = parse_qs(urlsplit(back).query)
    login = await party.complete(
        code=query["code"][0],
        returned_state=query["state"][0],
        expected_state=begun.state,
        nonce=begun.nonce,
        code_verifier=begun.code_verifier,
    )
    return login.id_token, begun.nonce


async def test_citizen_login_logout(
    oidc_client: httpx.AsyncClient, oidc_container: Container
) -> None:
    authorize = await start_login(oidc_client)
    params = parse_qs(urlsplit(authorize).query)
    assert params["code_challenge_method"] == ["S256"]
    assert params["state"]
    assert params["nonce"]
    assert params["code_challenge"]
    back = await login_at_provider(authorize, "carol", CALLBACK)

    done = await oidc_client.get(back)
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/auth/me"
    cookie = done.headers["set-cookie"]
    assert "civicloom_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    me = (await oidc_client.get("/auth/me")).json()
    assert me["subject"] == "carol"
    assert me["roles"] == ["citizen"]
    assert me["authenticated_by"] == "oidc-citizen"
    assert me["display_name"] == "Test carol"  # from /userinfo

    page = await oidc_client.get("/auth/signed-in")
    out = await oidc_client.post("/auth/logout", data={"csrf_token": csrf_from(page.text)})
    assert out.status_code == 303
    end = urlsplit(out.headers["location"])
    assert (
        f"{end.scheme}://{end.netloc}"
        == urlsplit(authorize).scheme + "://" + urlsplit(authorize).netloc
    )
    assert "id_token_hint" in parse_qs(end.query)
    assert (await oidc_client.get("/auth/me")).status_code == 401
    assert await audit_actions(oidc_container) == ["identity.login", "identity.logout"]


async def test_staff_login_maps_roles_and_department(oidc_client: httpx.AsyncClient) -> None:
    authorize = await start_login(oidc_client, "staff")
    assert "roles" in parse_qs(urlsplit(authorize).query)["scope"][0].split()
    back = await login_at_provider(authorize, "tariq", f"{APP}/auth/callback/staff")
    assert (await oidc_client.get(back)).status_code == 303
    me = (await oidc_client.get("/auth/me")).json()
    assert me["roles"] == ["officer"]
    assert me["department"] == "tax"


async def test_staff_without_roles_is_refused(
    oidc_client: httpx.AsyncClient, oidc_container: Container
) -> None:
    authorize = await start_login(oidc_client, "staff")
    back = await login_at_provider(authorize, "nobody-staff", f"{APP}/auth/callback/staff")
    refused = await oidc_client.get(back)
    assert refused.status_code == 401
    assert "no-staff-role" in refused.json()["detail"]
    assert await audit_actions(oidc_container) == ["identity.login_failed"]


async def test_wrong_state_is_refused(
    oidc_client: httpx.AsyncClient, oidc_container: Container
) -> None:
    back = await login_at_provider(await start_login(oidc_client), "carol", CALLBACK)
    tampered = back.replace("state=", "state=x")
    refused = await oidc_client.get(tampered)
    assert refused.status_code == 401
    assert "state-mismatch" in refused.json()["detail"]
    assert (await oidc_client.get("/auth/me")).status_code == 401
    assert await audit_actions(oidc_container) == ["identity.login_failed"]


async def test_callback_without_login_in_progress_is_refused(
    oidc_client: httpx.AsyncClient,
) -> None:
    back = await login_at_provider(await start_login(oidc_client), "carol", CALLBACK)
    oidc_client.cookies.clear()
    refused = await oidc_client.get(back)
    assert refused.status_code == 401
    assert "no-login-in-progress" in refused.json()["detail"]


async def test_replayed_code_is_refused(oidc_client: httpx.AsyncClient) -> None:
    back = await login_at_provider(await start_login(oidc_client), "carol", CALLBACK)
    transaction = oidc_client.cookies.get("civicloom_oidc")
    assert transaction
    assert (await oidc_client.get(back)).status_code == 303
    oidc_client.cookies.clear()
    # An attacker replays the whole callback, transaction cookie included.
    replay = await oidc_client.get(back, headers={"Cookie": f"civicloom_oidc={transaction}"})
    assert replay.status_code == 401
    assert "code-refused" in replay.json()["detail"]


async def test_wrong_nonce_is_refused(oidc_provider: Provider) -> None:
    party = relying_party(oidc_provider)
    begun = await party.begin()
    back = await login_at_provider(begun.url, "carol", CALLBACK)
    query = parse_qs(urlsplit(back).query)
    with pytest.raises(OidcError) as refused:
        await party.complete(
            code=query["code"][0],
            returned_state=query["state"][0],
            expected_state=begun.state,
            nonce="a-different-nonce",
            code_verifier=begun.code_verifier,
        )
    assert refused.value.reason == "claim-invalid_claim"
    assert "nonce" in str(refused.value)


async def test_wrong_pkce_verifier_is_refused(oidc_provider: Provider) -> None:
    party = relying_party(oidc_provider)
    begun = await party.begin()
    query = parse_qs(urlsplit(await login_at_provider(begun.url, "carol", CALLBACK)).query)
    with pytest.raises(OidcError) as refused:
        await party.complete(
            code=query["code"][0],
            returned_state=query["state"][0],
            expected_state=begun.state,
            nonce=begun.nonce,
            code_verifier="x" * 64,
        )
    assert refused.value.reason == "code-refused"


async def test_expired_tampered_forged_and_unsigned_tokens_are_refused(
    oidc_provider: Provider,
) -> None:
    token, nonce = await provider_id_token(oidc_provider)
    assert (await relying_party(oidc_provider).validate_id_token(token, nonce))["sub"] == "carol"

    later = FixedClock(SystemClock().now() + timedelta(hours=2))
    with pytest.raises(OidcError) as expired:
        await relying_party(oidc_provider, later).validate_id_token(token, nonce)
    assert expired.value.reason == "claim-expired_token"

    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "alice"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(OidcError) as tampered:
        await relying_party(oidc_provider).validate_id_token(
            f"{header}.{forged_payload}.{signature}", nonce
        )
    assert tampered.value.reason == "bad-signature"

    kid = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]
    attacker_key = RSAKey.generate_key(2048, parameters={"kid": kid})
    forged = jwt.encode({"alg": "RS256", "kid": kid}, claims, attacker_key)
    with pytest.raises(OidcError) as bad_key:
        await relying_party(oidc_provider).validate_id_token(forged, nonce)
    assert bad_key.value.reason == "bad-signature"

    unsigned_header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    with pytest.raises(OidcError) as unsigned:
        await relying_party(oidc_provider).validate_id_token(
            f"{unsigned_header}.{forged_payload}.", nonce
        )
    assert unsigned.value.reason == "bad-signature"


async def test_token_for_another_client_is_refused(oidc_provider: Provider) -> None:
    token, nonce = await provider_id_token(oidc_provider)
    other = OidcRelyingParty(
        OidcClientConfig(
            audience="citizen",
            issuer=oidc_provider.issuer,
            client_id="someone-else",
            client_secret="x",
            redirect_uri=CALLBACK,
        ),
        SystemClock(),
    )
    with pytest.raises(OidcError) as refused:
        await other.validate_id_token(token, nonce)
    assert refused.value.reason == "claim-audience"


async def test_staff_in_an_unknown_department_is_refused(
    oidc_client: httpx.AsyncClient, oidc_container: Container
) -> None:
    """Without a group mapping the department claim is checked too (ADR 0042)."""
    authorize = await start_login(oidc_client, "staff")
    back = await login_at_provider(authorize, "fisher", f"{APP}/auth/callback/staff")
    refused = await oidc_client.get(back)
    assert refused.status_code == 401
    assert refused.json()["detail"] == (
        "the login was refused (unknown-department: the identity provider places you in"
        " department 'fisheries', which this platform does not know)"
    )
    assert (await oidc_client.get("/auth/me")).status_code == 401
    assert await audit_actions(oidc_container) == ["identity.login_failed"]
