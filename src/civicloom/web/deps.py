"""FastAPI dependency aliases (the only place they are defined)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from civicloom.identity import load_personas, principal_for_persona
from civicloom.kernel import DomainError, Principal
from civicloom.runtime import Container


class Unauthenticated(DomainError):
    """No valid credentials were presented."""

    slug = "unauthenticated"
    title = "Authentication required"
    status = 401


def get_container(request: Request) -> Container:
    """The process container stored on the app."""
    container = request.app.state.container
    assert isinstance(container, Container)
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


def get_principal(request: Request, container: ContainerDep) -> Principal:
    """The caller. Until OpenID Connect lands, only the dev login (embedded/test) authenticates.

    Dev login bearer tokens look like ``dev:<persona-id>`` and are refused when dev login is off
    (always, in production).
    """
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("send an Authorization: Bearer token")
    if token.startswith("dev:") and container.settings.dev_login_enabled:
        persona = load_personas(container.settings.blueprints_dir).get(token[4:])
        if persona is not None:
            return principal_for_persona(persona)
    raise Unauthenticated("the token is not valid")


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
