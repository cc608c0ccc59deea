"""REST connector plugin: async httpx with timeouts, tenacity retries and auth options."""

from civicloom.connectors.rest.connector import (
    AuthOptions,
    RestBinding,
    RestConnector,
    RestOptions,
    TlsOptions,
)

__all__ = ["AuthOptions", "RestBinding", "RestConnector", "RestOptions", "TlsOptions"]
