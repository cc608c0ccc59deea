"""Who is calling a GovStack facade.

GovStack suites send a platform API key in an ``api_key`` or ``apiKey`` header (or as
``Authorization: Bearer``); the Information Mediator convention adds an
``Information-Mediator-Client`` header naming the calling subsystem
(``INSTANCE/CLASS/MEMBER/SUBSYSTEM``). This dependency runs before the route's guard and, when a
valid key is presented, makes its machine client the request's principal; the guard then
applies the route's roles and scopes as on the native API.
"""

from __future__ import annotations

from fastapi import Request

from civicloom.identity import authenticate_api_key
from civicloom.web import ContainerDep

IM_CLIENT_HEADER = "Information-Mediator-Client"
KEY_HEADERS = ("api_key", "apikey")


async def govstack_caller(request: Request, container: ContainerDep) -> None:
    """Resolve a GovStack API-key header to a machine client (before the route guard)."""
    request.state.im_client = request.headers.get(IM_CLIENT_HEADER, "")
    if hasattr(request.state, "principal"):
        return
    for header in KEY_HEADERS:
        key = request.headers.get(header, "")
        if key.startswith("cl_"):
            client = await authenticate_api_key(container.uow(), container.clock, key)
            if client is not None:
                request.state.principal = client
            return
