"""Registries fixtures: Alice and Bob signed in by the dev login and through the real OpenID
provider (the portal's fixtures; the same business-path tests run with both logins)."""

from __future__ import annotations

from tests.integration.identity.conftest import (  # noqa: F401 (fixtures)
    oidc_provider,
    oidc_settings,
)
from tests.integration.portal.conftest import alice, bob  # noqa: F401 (fixtures)
