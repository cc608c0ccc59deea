"""GovStack Messaging facade: other government systems send email through the platform.

``POST /send/email/single``, ``POST /send/email/batch``, ``GET /status/email`` and
``POST /callback/email`` (../shared/specs/govstack/messaging). Callers authenticate with a
platform API key (scope ``messaging:send``) in the ``apiKey`` header or as a Bearer token.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from pydantic import Field
from sqlalchemy import func, select

from civicloom.identity import authenticate_api_key
from civicloom.kernel import (
    EMAIL_PATTERN,
    FieldError,
    InboundModel,
    Line,
    NotFound,
    Text,
    ValidationFailed,
    new_id,
)
from civicloom.notifications.domain import ChannelKind, DeliveryStatus, Recipient, RenderedMessage
from civicloom.notifications.services import add_delivery
from civicloom.notifications.tables import DeliveryRow
from civicloom.runtime import Container
from civicloom.web import ContainerDep, CurrentPrincipal, problem_responses, require_roles

EMAIL = EMAIL_PATTERN


async def api_key_header(request: Request, container: ContainerDep) -> None:
    """Accept GovStack's ``apiKey`` header as a platform API key (before the route guard)."""
    key = request.headers.get("apikey", "")
    if key.startswith("cl_") and not hasattr(request.state, "principal"):
        client = await authenticate_api_key(container.uow(), container.clock, key)
        if client is not None:
            request.state.principal = client


messaging_router = APIRouter(
    tags=["govstack-messaging"], responses=problem_responses(400, 401, 403, 404, 413, 422)
)
_SENDER = [Depends(api_key_header), require_roles("operator", scope="messaging:send")]


class RecipientInfo(InboundModel):
    """Who receives the email."""

    email: str = Field(pattern=EMAIL, max_length=320)
    name: Line = Field(default="", max_length=200)


class EmailContent(InboundModel):
    """The email's title and text. The title becomes the Subject header: one line, no control
    or bidirectional-override characters (a 422 here, never a send that cannot succeed)."""

    encoding: Line = Field(default="UTF-8", max_length=40)
    title: Line = Field(min_length=1, max_length=300)
    content: Text = Field(min_length=1, max_length=100_000)


class SingleEmail(InboundModel):
    """``/send/email/single`` body."""

    senderInfo: dict[str, Any] = Field(default_factory=dict)  # noqa: N815 - spec names
    recipientInfo: RecipientInfo  # noqa: N815
    emailContent: EmailContent  # noqa: N815


class BatchRecipients(InboundModel):
    """Base64 of a JSON list of ``{"recipientInfo": {...}}``."""

    batchEmailAsBase64: Line = Field(max_length=2_000_000)  # noqa: N815


class BatchEmail(InboundModel):
    """``/send/email/batch`` body."""

    senderInfo: dict[str, Any] = Field(default_factory=dict)  # noqa: N815
    recipientInfo: BatchRecipients  # noqa: N815
    emailContent: EmailContent  # noqa: N815


def _decode_batch(encoded: str) -> list[RecipientInfo]:
    try:
        items = json.loads(base64.b64decode(encoded, validate=True))
        people = [RecipientInfo.model_validate(i["recipientInfo"]) for i in items]
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise ValidationFailed(
            [FieldError("recipientInfo.batchEmailAsBase64", "format", "base64 JSON list")]
        ) from exc
    if not people or len(people) > 1000:
        raise ValidationFailed(
            [FieldError("recipientInfo.batchEmailAsBase64", "size", "1 to 1000 recipients")]
        )
    return people


async def queue_emails(
    container: Container, sender: str, people: list[RecipientInfo], content: EmailContent
) -> str:
    """Queue one delivery per recipient through the outbox; returns the request uid."""
    request_uid = new_id()
    text = content.content
    rendered = RenderedMessage(
        template="govstack/email",
        version="external",
        locale="en",
        subject=content.title,
        text=text,
        html=f"<!doctype html><html><body><p>{html.escape(text)}</p></body></html>",
    )
    async with container.uow() as uow:
        for index, person in enumerate(people):
            recipient = Recipient(subject=f"{sender}#{index}", email=person.email)
            await add_delivery(
                uow.session,
                container,
                request_uid,
                recipient,
                ChannelKind.EMAIL,
                rendered,
                batch_id=request_uid,
            )
        await uow.commit()
    return request_uid


def _accepted(uid: str) -> dict[str, str]:
    return {
        "response": 'Request successfully accepted. Use "requestUid" to track its status.',
        "requestUid": uid,
    }


@messaging_router.post("/send/email/single", dependencies=_SENDER)
async def send_single(
    body: SingleEmail, container: ContainerDep, principal: CurrentPrincipal
) -> dict[str, str]:
    """Send one email."""
    uid = await queue_emails(container, principal.subject, [body.recipientInfo], body.emailContent)
    return _accepted(uid)


@messaging_router.post("/send/email/batch", dependencies=_SENDER)
async def send_batch(
    body: BatchEmail, container: ContainerDep, principal: CurrentPrincipal
) -> dict[str, str]:
    """Send the same email to many recipients (base64 JSON list)."""
    people = _decode_batch(body.recipientInfo.batchEmailAsBase64)
    uid = await queue_emails(container, principal.subject, people, body.emailContent)
    return _accepted(uid)


STATUS_NAMES = {
    DeliveryStatus.QUEUED.value: "scheduled",
    DeliveryStatus.RETRYING.value: "deferred",
    DeliveryStatus.SENT.value: "delivered",
    DeliveryStatus.FAILED.value: "notSent",
}


@messaging_router.get("/status/email", dependencies=_SENDER)
async def email_status(
    container: ContainerDep,
    request_uid: Annotated[str, Header(alias="requestUid", max_length=64)] = "",
) -> dict[str, int]:
    """Counts of a request's emails by GovStack status."""
    counts = dict.fromkeys(
        ["scheduled", "processing", "deferred", "bounced", "notSent", "delivered"], 0
    )
    async with container.uow() as uow:
        rows = await uow.session.execute(
            select(DeliveryRow.status, func.count())
            .where(DeliveryRow.batch_id == request_uid)
            .group_by(DeliveryRow.status)
        )
        found = False
        for status, number in rows:
            found = True
            counts[STATUS_NAMES.get(status, "processing")] += int(number)
    if not found:
        raise NotFound("no such requestUid")
    return counts


class CallbackContent(InboundModel):
    """``/callback/email`` body: client-specific content (base64)."""

    meta: Text = Field(default="", max_length=1000)
    content: Text = Field(default="", max_length=1_000_000)


@messaging_router.post("/callback/email", dependencies=_SENDER)
async def email_callback(
    body: CallbackContent,
    request_uid: Annotated[str, Header(alias="requestUid", min_length=1, max_length=64)],
) -> dict[str, str]:
    """Accept a client callback (e.g. a reply); acknowledged, not stored."""
    return {"response": "accepted", "requestUid": request_uid}
