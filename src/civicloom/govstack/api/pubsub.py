"""GovStack Information Mediator pub/sub API (ADR 0054), a translation onto
``civicloom.govstack.pubsub`` (its own tables and the platform's outbox).

Spec: ../shared/specs/govstack/information-mediator/GovStack_IM_PubSub_API.yaml. Paths are the
spec's, ``/r1/{instanceId}/{memberClass}/{memberCode}/{applicationCode}/…``; the four parts name
the **room**, an IM subsystem registered to a machine client in the registrations file.

- ``api/v1/eventType`` (admin): the room's own client with ``events:publish`` creates and deletes
  event types (each with the JSON Schema its events must satisfy); it, or any client with
  ``events:subscribe``, lists and reads them.
- ``pub/v1/{eventType}`` (pub): the room's own client publishes (201 with the event's id;
  ``Idempotency-Key`` honoured), reads its event's delivery status and cancels it.
- ``api/v1/subs`` (sub): a client with ``events:subscribe`` subscribes (PUSH to an endpoint
  registered for it, or PULL), reads, changes and ends its own subscriptions.
- ``pull/v1/{eventType}`` (sub): a PULL subscriber fetches its next unacknowledged event and
  acknowledges it.

Only machine clients call these routes (people: 403). Another client's event or subscription
is a 404, as an unknown one is. An invalid request is 400 naming the field; on the listener
the body's shape errors are 400 too (``PubSubStatusConvention``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse, Response
from pydantic import Field

from civicloom.govstack.caller import (
    clients_file,
    govstack_caller,
    im_client_of,
    load_registrations,
)
from civicloom.govstack.pubsub import (
    PUBLISH_SCOPE,
    SUBSCRIBE_SCOPE,
    BadRequest,
    Delivery,
    Registered,
    Room,
    SubscriptionRequest,
    acknowledge,
    allowed_subscribers,
    cancel_event,
    change_subscription,
    create_event_type,
    delete_event_type,
    event_status,
    list_event_types,
    my_subscription,
    my_subscriptions,
    owner_allows,
    owner_removes,
    publish_event,
    pull_next,
    read_event_type,
    subscribe,
    unsubscribe,
)
from civicloom.govstack.pubsub.domain import DEFAULT_TTL_SECONDS, split_room
from civicloom.identity import Role, RoutePolicy
from civicloom.kernel import FieldError, InboundModel, normalise_data
from civicloom.web import ContainerDep, CurrentPrincipal, problem_responses, require_roles
from civicloom.web.deps import Guard

JSON_UTF8 = "application/json; charset=utf-8"
ROOM = "/r1/{instanceId}/{memberClass}/{memberCode}/{applicationCode}"
PUBSUB_PATH_PREFIX = "/r1/"
PUBSUB_PATH_PARTS = (
    "/api/v1/eventType",
    "/api/v1/subs",
    "/api/v1/allowedSubscribers",
    "/pub/v1/",
    "/pull/v1/",
)
"""How ``PubSubStatusConvention`` recognises these routes' paths."""

# Tagged as the mediator facade: these are the IM's services (``listMethods`` lists them under
# ``civicloom/GOV/civicloom/mediator``).
pubsub_router = APIRouter(
    tags=["govstack-mediator"], responses=problem_responses(400, 401, 403, 404, 409)
)
# Reading a room's event types: any machine client (the service lets in the room's own client
# and those holding ``events:subscribe``); people are refused by role.
_ANY_CLIENT = [
    Depends(govstack_caller),
    Depends(Guard(RoutePolicy(roles=frozenset({Role.MACHINE_CLIENT.value}), machines=True))),
]
_PUBLISHER = [Depends(govstack_caller), require_roles(Role.MACHINE_CLIENT, scope=PUBLISH_SCOPE)]
_SUBSCRIBER = [
    Depends(govstack_caller),
    require_roles(Role.MACHINE_CLIENT, scope=SUBSCRIBE_SCOPE),
]


class EventTypeBody(InboundModel):
    """``EventType``: a name and the JSON Schema its events satisfy."""

    eventType: str = Field(  # noqa: N815 - the spec's name
        max_length=100, description="The event type's name, e.g. newBirth."
    )
    event_schema: dict[str, Any] = Field(
        alias="schema", description="JSON Schema (2020-12) every event of this type satisfies."
    )


class PublishBody(InboundModel):
    """``PublishEvent``: the type (as in the path) and the event."""

    eventType: str = Field(  # noqa: N815 - the spec's name
        max_length=100, description="The event type, as in the path."
    )
    event: dict[str, Any] = Field(description="The event, valid against its type's schema.")


class Options(InboundModel):
    """A subscription's options."""

    TTL: int = Field(
        default=DEFAULT_TTL_SECONDS, description="Seconds an event waits for this subscriber."
    )
    FIFO: bool = Field(
        default=False, description="Events are always handed over in publishing order."
    )


class SubscriptionBody(InboundModel):
    """``SubscriptionItem`` (``pushUrl``: civicloom's, the PUSH endpoint)."""

    eventType: str = Field(  # noqa: N815 - the spec's name
        max_length=100, description="The event type, as in the path."
    )
    delivery: Delivery = Field(default=Delivery.PUSH, description="PUSH or PULL.")
    pushUrl: str | None = Field(  # noqa: N815 - the spec's name
        default=None,
        max_length=500,
        description="For PUSH: one of the endpoints an operator registered for the client.",
    )
    options: Options | None = None
    id: str | None = Field(default=None, max_length=36, description="Ignored: assigned here.")
    subscriberId: dict[str, str] | None = Field(  # noqa: N815 - the spec's name
        default=None, description="Ignored if it is the caller's own subsystem; else refused."
    )


def _json(body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=JSON_UTF8)


def _registered(container: ContainerDep) -> Registered:
    """The registrations file as it stands (read once per request)."""
    found = load_registrations(clients_file(container.settings))
    return Registered(rooms=found.im_clients, push_endpoints=found.push_endpoints)


RegisteredDep = Annotated[Registered, Depends(_registered)]


def _room(
    instanceId: str,  # noqa: N803 - the spec's names
    memberClass: str,  # noqa: N803
    memberCode: str,  # noqa: N803
    applicationCode: str,  # noqa: N803
    registered: RegisteredDep,
) -> Room:
    """The room the path's four parts name (404 when no client is registered for it)."""
    return registered.room("/".join((instanceId, memberClass, memberCode, applicationCode)))


RoomDep = Annotated[Room, Depends(_room)]
"""Every route's room: the path's ``{instanceId}/{memberClass}/{memberCode}/{applicationCode}``."""


def _same_type(path_type: str, body_type: str) -> None:
    if body_type != path_type:
        raise BadRequest([FieldError("eventType", "const", "give the event type of the path")])


def _request(body: SubscriptionBody) -> SubscriptionRequest:
    options = body.options or Options()
    return SubscriptionRequest(body.delivery, body.pushUrl, options.TTL, options.FIFO)


def _check_subscriber_id(
    body: SubscriptionBody, registered: Registered, principal: Any, presented: str
) -> None:
    if body.subscriberId is None:
        return
    mine = registered.subsystem_of(principal, presented)
    if mine is None or split_room(mine) != body.subscriberId:
        raise BadRequest(
            [FieldError("subscriberId", "own", "a client subscribes its own subsystem only")]
        )


# --- admin: event types ---------------------------------------------------------------------


@pubsub_router.post(f"{ROOM}/api/v1/eventType", dependencies=_PUBLISHER)
async def create_event_type_route(
    room: RoomDep,
    body: EventTypeBody,
    container: ContainerDep,
    principal: CurrentPrincipal,
) -> JSONResponse:
    """Create an event type in the room (its own client; 409 when it exists)."""
    schema = normalise_data(body.event_schema, "schema")
    await create_event_type(container, principal, room, body.eventType, schema)
    return _json({"eventType": body.eventType})


@pubsub_router.get(f"{ROOM}/api/v1/eventType", dependencies=_ANY_CLIENT)
async def list_event_types_route(
    room: RoomDep,
    container: ContainerDep,
    principal: CurrentPrincipal,
) -> Response:
    """The room's event types (204 when it has none)."""
    names = await list_event_types(container, principal, room)
    return _json(names) if names else Response(status_code=204)


@pubsub_router.get(f"{ROOM}/api/v1/eventType/{{eventType}}", dependencies=_ANY_CLIENT)
async def read_event_type_route(
    room: RoomDep,
    eventType: str,  # noqa: N803
    container: ContainerDep,
    principal: CurrentPrincipal,
) -> Response:
    """An event type and its schema (204 when the room has no such type)."""
    found = await read_event_type(container, principal, room, eventType)
    return _json(found) if found is not None else Response(status_code=204)


@pubsub_router.delete(
    f"{ROOM}/api/v1/eventType/{{eventType}}",
    dependencies=_PUBLISHER,
    status_code=204,
    response_class=Response,
)
async def delete_event_type_route(
    room: RoomDep,
    eventType: str,  # noqa: N803
    container: ContainerDep,
    principal: CurrentPrincipal,
) -> Response:
    """Delete an event type: its subscriptions end, their open deliveries are cancelled."""
    await delete_event_type(container, principal, room, eventType)
    return Response(status_code=204)


# --- admin: who may subscribe (ADR 0057; civicloom's, not the spec's) --------------------------

ALLOWED = f"{ROOM}/api/v1/allowedSubscribers"
SUBSCRIBER = "{subscriberInstance}/{subscriberClass}/{subscriberMember}/{subscriberApplication}"


def _subscriber(
    subscriberInstance: str,  # noqa: N803 - a subsystem's four parts, as the room's
    subscriberClass: str,  # noqa: N803
    subscriberMember: str,  # noqa: N803
    subscriberApplication: str,  # noqa: N803
) -> str:
    """The subscriber's IM subsystem id from the path's last four parts."""
    return "/".join((subscriberInstance, subscriberClass, subscriberMember, subscriberApplication))


SubscriberDep = Annotated[str, Depends(_subscriber)]


@pubsub_router.get(ALLOWED, dependencies=_PUBLISHER)
async def allowed_subscribers_route(
    room: RoomDep, container: ContainerDep, principal: CurrentPrincipal
) -> JSONResponse:
    """The clients the room's owner or an operator allowed to subscribe (its own client)."""
    return _json([a.item() for a in await allowed_subscribers(container, principal, room)])


@pubsub_router.put(f"{ALLOWED}/{SUBSCRIBER}", dependencies=_PUBLISHER)
async def allow_subscriber_route(
    room: RoomDep,
    registered: RegisteredDep,
    subsystem: SubscriberDep,
    container: ContainerDep,
    principal: CurrentPrincipal,
) -> JSONResponse:
    """Allow the client standing for a subsystem to subscribe (201; 200 when it already was)."""
    added = await owner_allows(container, principal, registered, room, subsystem)
    return _json({"subscriberId": split_room(subsystem)}, 201 if added else 200)


@pubsub_router.delete(
    f"{ALLOWED}/{SUBSCRIBER}", dependencies=_PUBLISHER, status_code=204, response_class=Response
)
async def remove_subscriber_route(
    room: RoomDep,
    registered: RegisteredDep,
    subsystem: SubscriberDep,
    container: ContainerDep,
    principal: CurrentPrincipal,
) -> Response:
    """Take a client off the list: its subscriptions end, its open deliveries are cancelled."""
    await owner_removes(container, principal, registered, room, subsystem)
    return Response(status_code=204)


# --- pub ------------------------------------------------------------------------------------


@pubsub_router.post(f"{ROOM}/pub/v1/{{eventType}}", dependencies=_PUBLISHER, status_code=201)
async def publish_route(
    room: RoomDep,
    eventType: str,  # noqa: N803
    body: PublishBody,
    container: ContainerDep,
    principal: CurrentPrincipal,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", max_length=200, min_length=8)
    ] = None,
) -> JSONResponse:
    """Publish an event in the room: 201 with its id; delivered to every subscriber."""
    _same_type(eventType, body.eventType)
    event = normalise_data(body.event, "event")
    event_id = await publish_event(container, principal, room, eventType, event, idempotency_key)
    return _json({"id": event_id}, 201)


@pubsub_router.get(f"{ROOM}/pub/v1/{{eventType}}/{{eventId}}", dependencies=_PUBLISHER)
async def event_status_route(
    room: RoomDep,
    eventType: str,  # noqa: N803
    eventId: str,  # noqa: N803
    container: ContainerDep,
    principal: CurrentPrincipal,
) -> JSONResponse:
    """The publisher's event and where each subscriber's delivery stands."""
    event, deliveries = await event_status(container, principal, room, eventType, eventId)
    return _json({**event.item(), "deliveries": [d.item() for d in deliveries]})


@pubsub_router.delete(
    f"{ROOM}/pub/v1/{{eventType}}/{{eventId}}",
    dependencies=_PUBLISHER,
    status_code=204,
    response_class=Response,
)
async def cancel_event_route(
    room: RoomDep,
    eventType: str,  # noqa: N803
    eventId: str,  # noqa: N803
    container: ContainerDep,
    principal: CurrentPrincipal,
) -> Response:
    """Stop processing the publisher's event (open deliveries are cancelled)."""
    await cancel_event(container, principal, room, eventType, eventId)
    return Response(status_code=204)


# --- sub ------------------------------------------------------------------------------------


@pubsub_router.get(f"{ROOM}/api/v1/subs", dependencies=_SUBSCRIBER)
async def list_subscriptions_route(
    room: RoomDep,
    container: ContainerDep,
    principal: CurrentPrincipal,
) -> JSONResponse:
    """The caller's subscriptions in the room."""
    return _json([s.item() for s in await my_subscriptions(container, principal, room)])


@pubsub_router.post(f"{ROOM}/api/v1/subs/{{eventType}}", dependencies=_SUBSCRIBER)
async def subscribe_route(
    request: Request,
    room: RoomDep,
    registered: RegisteredDep,
    eventType: str,  # noqa: N803
    body: SubscriptionBody,
    container: ContainerDep,
    principal: CurrentPrincipal,
) -> JSONResponse:
    """Subscribe to an event type of the room (409 when already subscribed)."""
    _same_type(eventType, body.eventType)
    presented = im_client_of(request)
    _check_subscriber_id(body, registered, principal, presented)
    view = await subscribe(
        container, principal, registered, room, eventType, _request(body), presented
    )
    return _json(view.item())


@pubsub_router.get(f"{ROOM}/api/v1/subs/{{eventType}}", dependencies=_SUBSCRIBER)
async def read_subscription_route(
    room: RoomDep,
    eventType: str,  # noqa: N803
    container: ContainerDep,
    principal: CurrentPrincipal,
) -> JSONResponse:
    """The caller's subscription to an event type."""
    return _json((await my_subscription(container, principal, room, eventType)).item())


@pubsub_router.patch(f"{ROOM}/api/v1/subs/{{eventType}}", dependencies=_SUBSCRIBER)
async def change_subscription_route(
    request: Request,
    room: RoomDep,
    registered: RegisteredDep,
    eventType: str,  # noqa: N803
    body: SubscriptionBody,
    container: ContainerDep,
    principal: CurrentPrincipal,
) -> JSONResponse:
    """Change the caller's subscription (201, as the spec says)."""
    _same_type(eventType, body.eventType)
    _check_subscriber_id(body, registered, principal, im_client_of(request))
    view = await change_subscription(
        container, principal, registered, room, eventType, _request(body)
    )
    return _json(view.item(), 201)


@pubsub_router.delete(
    f"{ROOM}/api/v1/subs/{{eventType}}",
    dependencies=_SUBSCRIBER,
    status_code=204,
    response_class=Response,
)
async def unsubscribe_route(
    room: RoomDep,
    eventType: str,  # noqa: N803
    container: ContainerDep,
    principal: CurrentPrincipal,
) -> Response:
    """End the caller's subscription; its open deliveries are cancelled."""
    await unsubscribe(container, principal, room, eventType)
    return Response(status_code=204)


# --- pull -----------------------------------------------------------------------------------


@pubsub_router.get(f"{ROOM}/pull/v1/{{eventType}}", dependencies=_SUBSCRIBER)
async def pull_route(
    room: RoomDep,
    eventType: str,  # noqa: N803
    container: ContainerDep,
    principal: CurrentPrincipal,
) -> JSONResponse:
    """The next unacknowledged event (404 when there is none; 409 without a PULL subscription)."""
    event = await pull_next(container, principal, room, eventType)
    if event is None:
        return _json({"detail": "no event available"}, 404)
    return _json(event.item())


@pubsub_router.delete(
    f"{ROOM}/pull/v1/{{eventType}}/{{eventId}}",
    dependencies=_SUBSCRIBER,
    status_code=204,
    response_class=Response,
)
async def acknowledge_route(
    room: RoomDep,
    eventType: str,  # noqa: N803
    eventId: str,  # noqa: N803
    container: ContainerDep,
    principal: CurrentPrincipal,
) -> Response:
    """Acknowledge a fetched event (it is not handed over again)."""
    await acknowledge(container, principal, room, eventType, eventId)
    return Response(status_code=204)
