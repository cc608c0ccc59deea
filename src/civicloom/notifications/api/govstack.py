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

from fastapi import APIRouter, Depends, Header, Query, Request
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
    """Accept GovStack's ``api_key``/``apiKey`` header as a platform API key (before the guard)."""
    key = request.headers.get("api_key", "") or request.headers.get("apikey", "")
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
    """Who receives the email (``emailCC``/``emailBCC`` receive it too, each a delivery)."""

    email: str = Field(pattern=EMAIL, max_length=320)
    emailCC: str | None = Field(default=None, pattern=EMAIL, max_length=320)  # noqa: N815
    emailBCC: str | None = Field(default=None, pattern=EMAIL, max_length=320)  # noqa: N815
    name: Line = Field(default="", max_length=200)

    def addresses(self) -> list[str]:
        """Every address this recipient stands for, in order."""
        return [a for a in (self.email, self.emailCC, self.emailBCC) if a]


class EmailContent(InboundModel):
    """The email's title and text. The title becomes the Subject header: one line, no control
    or bidirectional-override characters (a 422 here, never a send that cannot succeed)."""

    encoding: Line = Field(default="UTF-8", max_length=40)
    title: Line = Field(min_length=1, max_length=300)
    content: Text = Field(min_length=1, max_length=100_000)


class BatchRecipients(InboundModel):
    """Who receives the email: one recipient (``email``, ``emailCC``, ``emailBCC``, ``name``)
    or ``batchEmailAsBase64``, a base64 JSON list of ``{"recipientInfo": {...}}``. Both sending
    routes take either form (the published suite sends each form to each route)."""

    email: str | None = Field(default=None, pattern=EMAIL, max_length=320)
    emailCC: str | None = Field(default=None, pattern=EMAIL, max_length=320)  # noqa: N815
    emailBCC: str | None = Field(default=None, pattern=EMAIL, max_length=320)  # noqa: N815
    name: Line = Field(default="", max_length=200)
    batchEmailAsBase64: str = Field(  # noqa: N815
        default="",
        max_length=MAX_BATCH_BASE64,
        pattern=BASE64_PATTERN,
        description=f"Base64 of a JSON list of 1 to {MAX_RECIPIENTS} "
        '`{"recipientInfo": {"email": …, "name": …}}` (at most '
        f"{MAX_BATCH_BASE64} characters, the longest {MAX_RECIPIENTS} recipients can take).",
    )

    def people(self) -> list[RecipientInfo]:
        """The recipients named, decoded and checked (422 naming the field otherwise)."""
        if self.batchEmailAsBase64:
            if self.email is not None:
                raise ValidationFailed(
                    [FieldError("recipientInfo", "one-of", "give email or batchEmailAsBase64")]
                )
            return _decode_batch(self.batchEmailAsBase64)
        if self.email is None:
            raise ValidationFailed(
                [FieldError("recipientInfo.email", "required", "give email or batchEmailAsBase64")]
            )
        return [
            RecipientInfo(
                email=self.email, emailCC=self.emailCC, emailBCC=self.emailBCC, name=self.name
            )
        ]


class SingleEmail(
    InboundModel,
    json_schema_extra={
        "examples": [
            {
                "recipientInfo": {"name": "Mei Chen", "email": "mei.chen@example.org"},
                "emailContent": {
                    "title": "Your licence is ready",
                    "content": "Your restaurant licence has been issued.",
                },
            }
        ]
    },
):
    """``/send/email/single`` body."""

    senderInfo: dict[str, Any] = Field(default_factory=dict)  # noqa: N815 - spec names
    recipientInfo: BatchRecipients  # noqa: N815
    emailContent: EmailContent  # noqa: N815


class BatchEmail(
    InboundModel,
    json_schema_extra={
        "examples": [
            {
                "recipientInfo": {
                    "batchEmailAsBase64": "bWVpLmNoZW5AZXhhbXBsZS5vcmcKbGkubGVpQGV4YW1wbGUub3Jn"
                },
                "emailContent": {
                    "title": "Office closed on Friday",
                    "content": "The counter is closed on Friday 6 March.",
                },
            }
        ]
    },
):
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
    if not people or sum(len(p.addresses()) for p in people) > MAX_RECIPIENTS:
        raise ValidationFailed(
            [
                FieldError(
                    "recipientInfo.batchEmailAsBase64",
                    "max-recipients",
                    f"1 to {MAX_RECIPIENTS} recipients per call "
                    f"(got {sum(len(p.addresses()) for p in people)})",
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
    addresses = [address for person in people for address in person.addresses()]
    async with container.uow() as uow:
        for index, address in enumerate(addresses):
            recipient = Recipient(subject=f"{sender.subject}#{index}", email=address)
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
                details={"client": sender.subject, "recipients": len(addresses)},
            ),
        )
        await uow.commit()
    return request_uid


def _accepted(uid: str) -> dict[str, str]:
    # ``requestUID`` is what the published suite reads; ``requestUid`` what the spec documents.
    return {
        "response": 'Request successfully accepted. Use "requestUID" to track its status.',
        "requestUID": uid,
        "requestUid": uid,
    }


@messaging_router.post(
    "/send/email/single",
    dependencies=_SENDER,
    responses={
        200: {
            "content": {
                "application/json": {"example": _accepted("3f2b8c1e-6a4d-4f7e-9b21-5c8d0e7a1f43")}
            }
        }
    },
)
async def send_single(
    body: SingleEmail, container: ContainerDep, principal: CurrentPrincipal
) -> dict[str, str]:
    """Send one email (to ``email``, ``emailCC`` and ``emailBCC``)."""
    uid = await queue_emails(container, principal, body.recipientInfo.people(), body.emailContent)
    return _accepted(uid)


@messaging_router.post(
    "/send/email/batch",
    dependencies=_SENDER,
    responses={
        200: {
            "content": {
                "application/json": {"example": _accepted("3f2b8c1e-6a4d-4f7e-9b21-5c8d0e7a1f43")}
            }
        }
    },
)
async def send_batch(
    body: BatchEmail, container: ContainerDep, principal: CurrentPrincipal
) -> dict[str, str]:
    """Send the same email to up to 50 recipients (a base64 JSON list; ``MAX_RECIPIENTS``)."""
    uid = await queue_emails(container, principal, body.recipientInfo.people(), body.emailContent)
    return _accepted(uid)


STATUS_NAMES = {
    DeliveryStatus.QUEUED.value: "scheduled",
    DeliveryStatus.RETRYING.value: "deferred",
    DeliveryStatus.SENT.value: "delivered",
    DeliveryStatus.FAILED.value: "notSent",
}


STATUS_KEYS = ("scheduled", "processing", "deferred", "bounced", "notSent", "delivered")
_STATUS_SPELLINGS = {k.lower(): k for k in STATUS_KEYS}


def _status_key(spelling: str) -> str | None:
    """The GovStack status a caller's spelling names (``notSent``, ``not sent``, ``not_sent``)."""
    return _STATUS_SPELLINGS.get(spelling.replace(" ", "").replace("_", "").lower())


def _wanted_statuses(values: list[str]) -> list[tuple[str, str]]:
    """(caller's spelling, status) of each asked status, in order; 422 naming ``status``."""
    spellings = [v.strip() for value in values for v in value.split(",") if v.strip()]
    if not spellings:
        raise ValidationFailed(
            [
                FieldError(
                    "status", "required", "select at least one status: " + ", ".join(STATUS_KEYS)
                )
            ]
        )
    unknown = [s for s in spellings if _status_key(s) is None]
    if unknown:
        raise ValidationFailed(
            [
                FieldError(
                    "status",
                    "enum",
                    f"unknown status {unknown[0]!r}; give any of " + ", ".join(STATUS_KEYS),
                )
            ]
        )
    return [(s, _status_key(s) or "") for s in dict.fromkeys(spellings)]


async def _own_request_counts(
    container: Container, principal: Principal, request_uid: str
) -> dict[str, int]:
    """Counts by GovStack status of one of the caller's requests; 404 if not the caller's."""
    counts = dict.fromkeys(STATUS_KEYS, 0)
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
        raise NotFound("no such requestUID")
    return counts


@messaging_router.get(
    "/status/email",
    dependencies=_SENDER,
    responses={200: {"content": {"application/json": {"example": {"sent": 48, "notSent": 2}}}}},
)
async def email_status(
    container: ContainerDep,
    principal: CurrentPrincipal,
    request_uid: Annotated[str, Header(alias="requestUID", min_length=1, max_length=64)],
    status: Annotated[list[str], Query(description="Statuses to count.")] = [],  # noqa: B006
    status_list: Annotated[
        list[str], Query(alias="status[]", description="Statuses to count (PHP-style name).")
    ] = [],  # noqa: B006
) -> dict[str, int]:
    """Counts of a request's emails for each selected status, keyed by the caller's spelling
    (``notSent``, ``not sent`` and ``not_sent`` all name one status); the caller's own
    requests only (another client's ``requestUID`` answers 404)."""
    wanted = _wanted_statuses([*status, *status_list])
    counts = await _own_request_counts(container, principal, request_uid)
    return {spelling: counts[key] for spelling, key in wanted}


class CallbackContent(
    InboundModel,
    json_schema_extra={"examples": [{"content": "delivered", "meta": "provider-message-id=4711"}]},
):
    """``/callback/email`` body: client-specific content (base64)."""

    meta: Text = Field(default="", max_length=1000)
    content: Text = Field(default="", max_length=1_000_000)


@messaging_router.post(
    "/callback/email",
    dependencies=_SENDER,
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "response": "accepted",
                        "requestUID": "3f2b8c1e-6a4d-4f7e-9b21-5c8d0e7a1f43",
                        "requestUid": "3f2b8c1e-6a4d-4f7e-9b21-5c8d0e7a1f43",
                    }
                }
            }
        }
    },
)
async def email_callback(
    body: CallbackContent,
    container: ContainerDep,
    principal: CurrentPrincipal,
    request_uid: Annotated[str, Header(alias="requestUID", min_length=1, max_length=64)],
) -> dict[str, str]:
    """Accept a client callback (e.g. a reply) about one of the caller's own requests
    (another client's ``requestUID`` answers 404); acknowledged, not stored."""
    await _own_request_counts(container, principal, request_uid)
    return {"response": "accepted", "requestUID": request_uid, "requestUid": request_uid}
