"""Session cookies and the identity collaborators of the web process (OIDC, rate limits)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from civicloom.identity import (
    OidcClientConfig,
    OidcRelyingParty,
    RateLimiter,
    SessionPolicy,
)
from civicloom.runtime import Container, Key
from civicloom.settings import Settings

SESSION_COOKIE = "civicloom_session"
OIDC_COOKIE = "civicloom_oidc"
OIDC_TRANSACTION_SECONDS = 600
AUDIENCES = ("citizen", "staff")


LICENCE_CHECKS_PER_MINUTE = 30
STATISTICS_PER_MINUTE = 60
"""GovStack Registration statistics (public, like the performance page) per caller address: a
dashboard polls them, a scraper is slowed down (ADR 0054)."""
COUNTER_REISSUES_PER_MINUTE = 5
FEEDBACK_PER_MINUTE = 30


def session_policy(settings: Settings) -> SessionPolicy:
    """Idle and absolute session lifetimes from the settings."""
    return SessionPolicy(
        idle=timedelta(minutes=settings.session_idle_minutes),
        absolute=timedelta(hours=settings.session_absolute_hours),
    )


def set_session_cookie(response: Response, token: str, settings: Settings) -> None:
    """The session cookie: HttpOnly, SameSite=Lax, Secure outside plain-http dev."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_absolute_hours * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.session_cookie_secure,
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    """Remove the session cookie from the browser."""
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.session_cookie_secure,
    )


def _oidc_config(settings: Settings, audience: str) -> OidcClientConfig | None:
    issuer = getattr(settings, f"oidc_{audience}_issuer")
    if not issuer:
        return None
    return OidcClientConfig(
        audience=audience,
        issuer=issuer,
        client_id=getattr(settings, f"oidc_{audience}_client_id"),
        client_secret=getattr(settings, f"oidc_{audience}_client_secret").get_secret_value(),
        redirect_uri=f"{settings.effective_public_url.rstrip('/')}/auth/callback/{audience}",
        scope=settings.oidc_staff_scope if audience == "staff" else "openid profile",
        groups_claim=settings.oidc_staff_groups_claim,
        mandates_claim=settings.oidc_citizen_mandates_claim,
        group_mapping={
            group: (grant.department, tuple(grant.roles))
            for group, grant in settings.oidc_staff_group_mapping.items()
        },
    )


@dataclass
class IdentityRuntime:
    """Identity collaborators of a web process: relying parties, the shared rate limiter
    (counts live in the database, ADR 0062), transaction signer."""

    relying_parties: dict[str, OidcRelyingParty]
    rate_limiter: RateLimiter
    signer: URLSafeTimedSerializer

    def dump_transaction(self, data: dict[str, Any]) -> str:
        """Sign an OIDC login transaction (state, nonce, verifier) for a short-lived cookie."""
        return self.signer.dumps(data)

    def load_transaction(self, value: str) -> dict[str, Any] | None:
        """The transaction, or None when missing, tampered or older than ten minutes."""
        try:
            data = self.signer.loads(value, max_age=OIDC_TRANSACTION_SECONDS)
        except BadSignature:
            return None
        return data if isinstance(data, dict) else None


def build_identity_runtime(container: Container) -> IdentityRuntime:
    """Build the identity collaborators from the settings (no connection is opened)."""
    settings = container.settings
    parties = {}
    for audience in AUDIENCES:
        config = _oidc_config(settings, audience)
        if config is not None:
            parties[audience] = OidcRelyingParty(config, container.clock)
    return IdentityRuntime(
        relying_parties=parties,
        rate_limiter=RateLimiter(
            container.database,
            {
                "login": settings.login_rate_per_minute,
                "submission": settings.submission_rate_per_minute,
                # The public licence check by PDF, per caller address: a person checks a few.
                "licence-check": LICENCE_CHECKS_PER_MINUTE,
                # A new claim code at the counter needs the whole document number: guessing it
                # one try at a time is bounded (per officer).
                "counter-reissue": COUNTER_REISSUES_PER_MINUTE,
                # Feedback is anonymous and public: a person sends one, a script is slowed down.
                "feedback": FEEDBACK_PER_MINUTE,
                "statistics": STATISTICS_PER_MINUTE,
            },
        ),
        signer=URLSafeTimedSerializer(
            settings.secret_key.get_secret_value(), salt="civicloom.oidc-transaction"
        ),
    )


IDENTITY_RUNTIME: Key[IdentityRuntime] = Key("identity runtime")
"""The web process's relying parties, rate limiter and login-transaction signer."""
