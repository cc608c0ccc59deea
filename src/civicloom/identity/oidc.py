"""The platform as an OpenID Connect relying party (code flow, PKCE, state, nonce).

Authlib builds the protocol messages, httpx carries them and joserfc validates the ID token
(signature via the provider's JWKS, issuer, audience, expiry, nonce). One instance per
identity provider: the national eID for citizens, the departmental IdP for staff.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri  # type: ignore[import-untyped]
from authlib.oauth2.rfc7636 import create_s256_code_challenge  # type: ignore[import-untyped]
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from civicloom.identity.domain import Role, ScopedPrincipal
from civicloom.kernel import Clock

ALLOWED_ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")


class OidcError(Exception):
    """A login was refused; ``reason`` is a short rule name safe to log and audit."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class OidcClientConfig:
    """One registration of the platform at one identity provider."""

    audience: str  # "citizen" or "staff": which population this provider authenticates
    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str
    scope: str = "openid profile"
    role_claim: str = "roles"
    department_claim: str = "department"
    groups_claim: str = "groups"
    # citizens: the claim listing the businesses the provider says the person represents; each
    # is verified against the business register at sign-in (registries.verified_mandates)
    mandates_claim: str = "business_mandates"
    # group -> (department, roles); empty: the role and department claims are read as they are
    group_mapping: Mapping[str, tuple[str | None, tuple[str, ...]]] = field(default_factory=dict)


@dataclass(frozen=True)
class LoginRequest:
    """Where to send the browser, and what must come back (kept in a signed cookie)."""

    url: str
    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True)
class OidcLogin:
    """A completed login: validated ID token claims plus userinfo."""

    id_token: str
    claims: dict[str, Any]
    userinfo: dict[str, Any]


class OidcRelyingParty:
    """Talks to one OpenID provider. Discovery and JWKS are fetched lazily and cached."""

    def __init__(
        self,
        config: OidcClientConfig,
        clock: Clock,
        *,
        leeway_seconds: int = 30,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self._clock = clock
        self._leeway = leeway_seconds
        self._transport = transport
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None

    def _http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self._transport, timeout=10.0)

    async def metadata(self) -> dict[str, Any]:
        """The provider's discovery document (its issuer must be the configured one)."""
        if self._metadata is None:
            url = self.config.issuer.rstrip("/") + "/.well-known/openid-configuration"
            async with self._http() as http:
                response = await http.get(url)
            response.raise_for_status()
            document = response.json()
            if document.get("issuer") != self.config.issuer:
                raise OidcError("issuer-mismatch", "discovery names another issuer")
            self._metadata = document
        return self._metadata

    async def _key_set(self, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            meta = await self.metadata()
            async with self._http() as http:
                response = await http.get(meta["jwks_uri"])
            response.raise_for_status()
            self._keys = KeySet.import_key_set(response.json())
        return self._keys

    async def begin(self) -> LoginRequest:
        """A fresh authorization request with state, nonce and an S256 PKCE challenge."""
        meta = await self.metadata()
        state = secrets.token_urlsafe(24)
        nonce = secrets.token_urlsafe(24)
        verifier = secrets.token_urlsafe(48)
        url: str = prepare_grant_uri(
            meta["authorization_endpoint"],
            client_id=self.config.client_id,
            response_type="code",
            redirect_uri=self.config.redirect_uri,
            scope=self.config.scope,
            state=state,
            nonce=nonce,
            code_challenge=str(create_s256_code_challenge(verifier)),
            code_challenge_method="S256",
        )
        return LoginRequest(url=url, state=state, nonce=nonce, code_verifier=verifier)

    async def complete(
        self,
        *,
        code: str,
        returned_state: str,
        expected_state: str,
        nonce: str,
        code_verifier: str,
    ) -> OidcLogin:
        """Check state, redeem the code (with the PKCE verifier), validate the ID token."""
        if not secrets.compare_digest(returned_state, expected_state):
            raise OidcError("state-mismatch")
        meta = await self.metadata()
        async with self._http() as http:
            response = await http.post(
                meta["token_endpoint"],
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": self.config.redirect_uri,
                    "code_verifier": code_verifier,
                },
                auth=(self.config.client_id, self.config.client_secret),
                headers={"Accept": "application/json"},
            )
            if response.status_code != 200:
                error = response.json().get("error", "error") if response.content else "error"
                raise OidcError("code-refused", str(error)[:50])
            tokens = response.json()
            id_token = tokens.get("id_token")
            if not isinstance(id_token, str):
                raise OidcError("no-id-token")
            claims = await self.validate_id_token(id_token, nonce)
            userinfo: dict[str, Any] = {}
            if meta.get("userinfo_endpoint") and tokens.get("access_token"):
                info = await http.get(
                    meta["userinfo_endpoint"],
                    headers={"Authorization": f"Bearer {tokens['access_token']}"},
                )
                if info.status_code == 200 and info.json().get("sub") == claims["sub"]:
                    userinfo = info.json()
        return OidcLogin(id_token=id_token, claims=claims, userinfo=userinfo)

    async def validate_id_token(self, id_token: str, nonce: str) -> dict[str, Any]:
        """Verify signature (JWKS, refreshed once for an unknown key), iss, aud, exp, iat, nonce."""
        keys = await self._key_set()
        try:
            token = jwt.decode(id_token, keys, algorithms=list(ALLOWED_ALGORITHMS))
        except ValueError:
            # An unknown key id: the provider may have rotated its keys.
            keys = await self._key_set(refresh=True)
            token = self._decode(id_token, keys)
        except JoseError as exc:
            raise OidcError("bad-signature", type(exc).__name__) from exc
        claims = dict(token.claims)
        now: Callable[[], int] = lambda: int(self._clock.now().timestamp())  # noqa: E731
        registry = jwt.JWTClaimsRegistry(
            now=now,
            leeway=self._leeway,
            iss={"essential": True, "value": self.config.issuer},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise OidcError(f"claim-{exc.error}", str(exc)[:80]) from exc
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.config.client_id not in audiences:
            raise OidcError("claim-audience")
        if len(audiences) > 1 and claims.get("azp") != self.config.client_id:
            raise OidcError("claim-azp")
        return claims

    @staticmethod
    def _decode(id_token: str, keys: KeySet) -> jwt.Token:
        try:
            return jwt.decode(id_token, keys, algorithms=list(ALLOWED_ALGORITHMS))
        except (JoseError, ValueError) as exc:
            raise OidcError("bad-signature", type(exc).__name__) from exc

    async def logout_url(
        self, id_token_hint: str | None, post_logout_redirect_uri: str
    ) -> str | None:
        """RP-initiated logout at the provider, if it supports it."""
        meta = await self.metadata()
        endpoint = meta.get("end_session_endpoint")
        if not endpoint:
            return None
        params = {
            "client_id": self.config.client_id,
            "post_logout_redirect_uri": post_logout_redirect_uri,
        }
        if id_token_hint:
            params["id_token_hint"] = id_token_hint
        return str(httpx.URL(endpoint, params=params))


@dataclass(frozen=True)
class StaffClaims:
    """What the staff provider says of a person: department and roles (not yet checked against
    the departments the platform knows; ``directory.sign_in_staff`` does that)."""

    subject: str
    name: str
    email: str | None
    locale: str
    department: str | None
    roles: frozenset[str]
    problem: tuple[str, str] | None = None  # (reason, detail): the claims cannot be used


def staff_claims(config: OidcClientConfig, login: OidcLogin) -> StaffClaims:
    """Map the staff provider's claims: through the group mapping when one is configured (groups
    it does not list are ignored), else the role and department claims as they are. Claims that
    cannot be used (no staff role, several departments) come back with no roles and the
    ``problem``; ``directory.sign_in_staff`` records that and refuses the sign-in."""
    claims = {**login.userinfo, **login.claims}
    name = str(claims.get("name") or claims.get("preferred_username") or claims["sub"])
    roles: set[str] = set()
    departments: set[str] = set()
    problem: tuple[str, str] | None = None
    if config.group_mapping:
        groups = claims.get(config.groups_claim, [])
        for group in groups if isinstance(groups, list) else []:
            mapped = config.group_mapping.get(str(group))
            if mapped is not None:
                department, granted = mapped
                roles.update(granted)
                departments.update([department] if department else [])
        if len(departments) > 1:
            problem = (
                "several-departments",
                "the identity provider places you in several departments: "
                + ", ".join(sorted(departments))[:80],
            )
    else:
        raw_roles = claims.get(config.role_claim, [])
        roles.update(str(r) for r in raw_roles if isinstance(raw_roles, list))
        department = claims.get(config.department_claim)
        departments.update([department] if isinstance(department, str) and department else [])
    if not roles and problem is None:
        problem = ("no-staff-role", "the identity provider gives you no staff role")
    email = claims.get("email")
    locale = claims.get("locale")
    return StaffClaims(
        subject=str(claims["sub"]),
        name=name,
        email=str(email) if isinstance(email, str) and "@" in email else None,
        locale=str(locale) if locale in ("en", "zh-Hans", "zh_Hans") else "en",
        department=None if problem else next(iter(departments), None),
        roles=frozenset() if problem else frozenset(roles),
        problem=problem,
    )


MANDATE_PATTERN = re.compile(r"^BR-[0-9]{4}-[0-9]{6}$")
MAX_CLAIMED_MANDATES = 20


def claimed_mandates(config: OidcClientConfig, login: OidcLogin) -> tuple[str, ...]:
    """Business registration numbers the citizens' provider says the person represents (well
    formed, at most 20, sorted). A claim only: the business register decides at sign-in."""
    claims = {**login.userinfo, **login.claims}
    raw = claims.get(config.mandates_claim, [])
    numbers = (
        {str(n) for n in raw if isinstance(n, str) and MANDATE_PATTERN.match(n)}
        if (isinstance(raw, list))
        else set()
    )
    return tuple(sorted(numbers)[:MAX_CLAIMED_MANDATES])


def principal_from_login(config: OidcClientConfig, login: OidcLogin) -> ScopedPrincipal:
    """Map a citizen's identity to a principal (staff sign in through the staff directory:
    ``staff_claims`` then ``directory.sign_in_staff``)."""
    claims = {**login.userinfo, **login.claims}
    name = str(claims.get("name") or claims.get("preferred_username") or claims["sub"])
    if config.audience != "citizen":
        raise OidcError("staff-through-directory")
    return ScopedPrincipal(
        subject=str(claims["sub"]),
        display_name=name,
        roles=frozenset({Role.CITIZEN.value}),
        authenticated_by="oidc-citizen",
    )
