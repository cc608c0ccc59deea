"""GovStack building-block facades: thin translations onto civicloom's own use cases.

A second listener (``civicloom serve --govstack-port 3333``) serves the facades at its root, so
the building blocks' published API test suites reach them unchanged. Each facade goes through
the same authorization, audit, idempotency and validation as the native API (ADR 0046).

Files, one owner each:

- ``caller.py`` — who is calling: GovStack's API-key headers and the
  ``Information-Mediator-Client`` header, resolved to a registered machine client.
- ``listener.py`` — the GovStack FastAPI app, built around the same container.
- ``api/registration.py`` — Registration BB (services, eForms, applications, documents, tasks).
- ``api/registries.py`` — Digital Registries BB (licence register, department registers).
- ``api/mediator.py`` — Information Mediator metaservices and pub/sub.
"""

from civicloom.govstack.caller import IM_CLIENT_HEADER, govstack_caller
from civicloom.govstack.listener import create_govstack_app

__all__ = ["IM_CLIENT_HEADER", "create_govstack_app", "govstack_caller"]
