"""A real OpenID provider (npm ``oidc-provider``) run as a separate process by the tests."""
