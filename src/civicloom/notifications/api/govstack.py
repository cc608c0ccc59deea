"""GovStack Messaging facade: other government systems send email through the platform.

``POST /send/email/single``, ``POST /send/email/batch``, ``GET /status/email`` and
``POST /callback/email`` (../shared/specs/govstack/messaging). Callers authenticate with a
platform API key (scope ``messaging:send``) in the ``apiKey`` header or as a Bearer token.

Who may send (ADR 0034): only machine clients, i.e. a department system holding an API key
with the ``messaging:send`` scope (issued by an operator: ``civicloom apikeys create``). People
(operators included) are refused: a person writes to a citizen through a case, never to a list
of addresses. At most ``MAX_RECIPIENTS`` addresses per call (422 naming the field above), every
accepted call is audited (``messaging.email_queued``: which client, how many recipients, the
request uid; the addresses stay in the deliveries, not in the audit chain), and a client reads
the status of its own requests only.
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

from civicloom.audit import AuditAction, AuditRecord, append_audit
from civicloom.identity import Role, authenticate_api_key
from civicloom.kernel import (
    EMAIL_PATTERN,
    FieldError,
    InboundModel,
    Line,
    NotFound,
    Principal,
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
MAX_RECIPIENTS = 50  # per call; a bigger mailing is several calls, each audited
RECIPIENT_JSON_BUDGET = 6_400
"""The longest JSON one recipient can take: a 320-character address and a 200-character name,
every character escaped as a surrogate pair (``\\ud83d\\ude00``, 12 characters), and the keys."""
MAX_BATCH_BASE64 = 4 * -(-(MAX_RECIPIENTS * RECIPIENT_JSON_BUDGET) // 3)
"""Base64 of the longest list of ``MAX_RECIPIENTS`` recipients (426,668 characters)."""
BASE64_PATTERN = r"^[A-Za-z0-9+/]*={0,2}$"
SCOPE = "messaging:send"


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
# Machine clients with the scope only: no person's role is listed, so people get 403.
_SENDER = [Depends(api_key_header), require_roles(Role.MACHINE_CLIENT, scope=SCOPE)]


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

    batchEmailAsBase64: str = Field(  # noqa: N815
        min_length=1,
        max_length=MAX_BATCH_BASE64,
        pattern=BASE64_PATTERN,
        description=f"Base64 of a JSON list of 1 to {MAX_RECIPIENTS} "
        '`{"recipientInfo": {"email": …, "name": …}}` (at most '
        f"{MAX_BATCH_BASE64} characters, the longest {MAX_RECIPIENTS} recipients can take).",
    )


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
    if not people or len(people) > MAX_RECIPIENTS:
        raise ValidationFailed(
            [
                FieldError(
                    "recipientInfo.batchEmailAsBase64",
                    "max-recipients",
                    f"1 to {MAX_RECIPIENTS} recipients per call (got {len(people)})",
                )
            ]
        )
    return people


async def queue_emails(
    container: Container, sender: Principal, people: list[RecipientInfo], content: EmailContent
) -> str:
    """Queue one delivery per recipient through the outbox and audit the request, in one
    transaction; returns the request uid."""
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
            recipient = Recipient(subject=f"{sender.subject}#{index}", email=person.email)
            await add_delivery(
                uow.session,
                container,
                request_uid,
                recipient,
                ChannelKind.EMAIL,
                rendered,
                batch_id=request_uid,
            )
        await append_audit(
            uow.session,
            AuditRecord(
                actor=sender.audit_name,
                action=AuditAction.MESSAGING_EMAIL_QUEUED,
                subject_type="messaging_request",
                subject_id=request_uid,
                occurred_at=container.clock.now(),
                department=sender.department,
                details={"client": sender.subject, "recipients": len(people)},
            ),
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
    uid = await queue_emails(container, principal, [body.recipientInfo], body.emailContent)
    return _accepted(uid)


@messaging_router.post("/send/email/batch", dependencies=_SENDER)
async def send_batch(
    body: BatchEmail, container: ContainerDep, principal: CurrentPrincipal
) -> dict[str, str]:
    """Send the same email to up to 50 recipients (a base64 JSON list; ``MAX_RECIPIENTS``)."""
    people = _decode_batch(body.recipientInfo.batchEmailAsBase64)
    uid = await queue_emails(container, principal, people, body.emailContent)
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
    principal: CurrentPrincipal,
    request_uid: Annotated[str, Header(alias="requestUid", max_length=64)] = "",
) -> dict[str, int]:
    """Counts of a request's emails by GovStack status (the caller's own requests only)."""
    counts = dict.fromkeys(
        ["scheduled", "processing", "deferred", "bounced", "notSent", "delivered"], 0
    )
    async with container.uow() as uow:
        rows = await uow.session.execute(
            select(DeliveryRow.status, func.count())
            .where(
                DeliveryRow.batch_id == request_uid,
                DeliveryRow.recipient_id.startswith(f"{principal.subject}#", autoescape=True),
            )
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
