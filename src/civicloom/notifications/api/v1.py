"""HTTP: a person's notification preferences and inbox (the embedded mail viewer is
``notifications/pages.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from civicloom.kernel import EMAIL_PATTERN, InboundModel
from civicloom.notifications.preferences import (
    Preferences,
    inbox,
    read_preferences,
    set_preferences,
)
from civicloom.web import (
    ContainerDep,
    CurrentPrincipal,
    authenticated,
    problem_responses,
)

notifications_router = APIRouter(
    tags=["notifications"], responses=problem_responses(400, 401, 403, 404, 422)
)


Channel = Literal["email", "sms", "portal"]


def _default_channels() -> list[Channel]:
    return ["email", "portal"]


class PreferencesIn(
    InboundModel,
    json_schema_extra={
        "examples": [
            {
                "channels": ["email", "portal"],
                "email": "mei.chen@example.org",
                "locale": "zh-Hans",
                "phone": None,
            }
        ]
    },
):
    """How and in which language to be notified."""

    email: str | None = Field(None, pattern=EMAIL_PATTERN, max_length=320)
    phone: str | None = Field(None, pattern=r"^\+[0-9]{6,15}$")
    locale: Literal["en", "zh-Hans"] = "en"
    channels: list[Channel] = Field(default_factory=_default_channels, min_length=1, max_length=3)


class InboxItemOut(
    BaseModel,
    json_schema_extra={
        "examples": [
            {
                "id": "01JF8ZT3NB2C4D6E8F0G2H4J6K",
                "application_id": "01JF8ZQ6V3K2M7N4P5R8S9T0WX",
                "subject": "Your licence is ready",
                "body": "Your restaurant licence ORR-2026-000042 has been issued.",
                "at": "2026-03-02T09:30:00Z",
            }
        ]
    },
):
    """A portal message."""

    id: str
    application_id: str | None
    subject: str
    body: str
    at: datetime


@notifications_router.get(
    "/api/v1/me/notification-preferences",
    operation_id="readNotificationPreferences",
    summary="Read my notification preferences",
    response_model=PreferencesIn,
    dependencies=[authenticated()],
)
async def get_preferences(container: ContainerDep, principal: CurrentPrincipal) -> PreferencesIn:
    """The caller's notification preferences."""
    p = await read_preferences(container, principal)
    return PreferencesIn.model_validate(
        {"email": p.email, "phone": p.phone, "locale": p.locale, "channels": p.channels}
    )


@notifications_router.put(
    "/api/v1/me/notification-preferences",
    operation_id="replaceNotificationPreferences",
    summary="Replace my notification preferences",
    response_model=PreferencesIn,
    dependencies=[authenticated()],
)
async def put_preferences(
    body: PreferencesIn, container: ContainerDep, principal: CurrentPrincipal
) -> PreferencesIn:
    """Change the caller's channels, addresses and language."""
    wanted = Preferences(body.email, body.phone, body.locale, list(body.channels))
    await set_preferences(container, principal, wanted)
    return body


@notifications_router.get(
    "/api/v1/me/inbox", response_model=list[InboxItemOut], dependencies=[authenticated()]
)
async def read_inbox(container: ContainerDep, principal: CurrentPrincipal) -> list[InboxItemOut]:
    """The caller's portal messages, newest first."""
    return [InboxItemOut(**item.__dict__) for item in await inbox(container, principal)]
