"""IM pub/sub conformance (specs/govstack/information-mediator/GovStack_IM_PubSub_API.yaml):
paths, methods, status codes and bodies of the admin, pub, sub and pull operations, in the room
the fixtures register (``govstack/fixtures/pubsub.py``) and that the listener trusts through the
``Information-Mediator-Client`` header, as behind an IM security server."""

from __future__ import annotations

import uuid

import httpx
import pytest

ROOM = "/r1/civicloom/GOV/local-admin/pubsub-conformance"
HEADERS = {"Information-Mediator-Client": "civicloom/GOV/local-admin/pubsub-conformance"}
SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {
        "dateTime": {"type": "string", "format": "date-time"},
        "gender": {"type": "string", "enum": ["M", "F"]},
        "mother": {"type": "string"},
        "place": {"type": "string"},
    },
    "required": ["dateTime", "gender", "mother", "place"],
}
EVENT = {
    "dateTime": "2023-05-01T11:25:00+02:00",
    "gender": "M",
    "mother": "Jane Doe",
    "place": "City Hospital",
}


@pytest.fixture
def event_type(gs: httpx.Client) -> str:
    """A fresh event type of the room (the spec's ``EventType``), created through the API."""
    name = f"newBirth-{uuid.uuid4().hex[:8]}"
    created = gs.post(
        f"{ROOM}/api/v1/eventType", json={"eventType": name, "schema": SCHEMA}, headers=HEADERS
    )
    assert created.status_code == 200, created.text
    return name


def test_create_event_type_twice_is_409(gs: httpx.Client, event_type: str) -> None:
    again = gs.post(
        f"{ROOM}/api/v1/eventType",
        json={"eventType": event_type, "schema": SCHEMA},
        headers=HEADERS,
    )
    assert again.status_code == 409


def test_create_event_type_without_schema_is_400(gs: httpx.Client) -> None:
    answer = gs.post(f"{ROOM}/api/v1/eventType", json={"eventType": "x"}, headers=HEADERS)
    assert answer.status_code == 400


def test_event_types_are_listed_and_read(gs: httpx.Client, event_type: str) -> None:
    listed = gs.get(f"{ROOM}/api/v1/eventType", headers=HEADERS)
    assert listed.status_code == 200
    assert event_type in listed.json()
    read = gs.get(f"{ROOM}/api/v1/eventType/{event_type}", headers=HEADERS)
    assert read.json() == {"eventType": event_type, "schema": SCHEMA}
    missing = gs.get(f"{ROOM}/api/v1/eventType/undefinedType", headers=HEADERS)
    assert missing.status_code == 204


def test_delete_event_type(gs: httpx.Client, event_type: str) -> None:
    path = f"{ROOM}/api/v1/eventType/{event_type}"
    assert gs.delete(path, headers=HEADERS).status_code == 204
    assert gs.delete(path, headers=HEADERS).status_code == 404


def test_publish_answers_201_with_the_event_id(gs: httpx.Client, event_type: str) -> None:
    published = gs.post(
        f"{ROOM}/pub/v1/{event_type}",
        json={"eventType": event_type, "event": EVENT},
        headers=HEADERS,
    )
    assert published.status_code == 201
    event_id = published.json()["id"]
    assert uuid.UUID(event_id)
    status = gs.get(f"{ROOM}/pub/v1/{event_type}/{event_id}", headers=HEADERS)
    assert status.status_code == 200
    assert {k: status.json()[k] for k in ("id", "eventType", "event")} == {
        "id": event_id,
        "eventType": event_type,
        "event": EVENT,
    }
    assert isinstance(status.json()["sequence"], int)
    assert gs.delete(f"{ROOM}/pub/v1/{event_type}/{event_id}", headers=HEADERS).status_code == 204


def test_publish_errors(gs: httpx.Client, event_type: str) -> None:
    invalid = gs.post(
        f"{ROOM}/pub/v1/{event_type}",
        json={"eventType": event_type, "event": {"gender": "X"}},
        headers=HEADERS,
    )
    assert invalid.status_code == 400
    unknown = gs.post(
        f"{ROOM}/pub/v1/unknownType",
        json={"eventType": "unknownType", "event": EVENT},
        headers=HEADERS,
    )
    assert unknown.status_code == 404
    missing = gs.get(f"{ROOM}/pub/v1/{event_type}/{uuid.uuid4()}", headers=HEADERS)
    assert missing.status_code == 404


def test_subscribe_pull_and_confirm(gs: httpx.Client, event_type: str) -> None:
    subs = f"{ROOM}/api/v1/subs/{event_type}"
    created = gs.post(subs, json={"eventType": event_type, "delivery": "PULL"}, headers=HEADERS)
    assert created.status_code == 200
    assert created.json()["delivery"] == "PULL"
    assert created.json()["options"] == {"TTL": 3600, "FIFO": False}
    assert (
        gs.post(
            subs, json={"eventType": event_type, "delivery": "PULL"}, headers=HEADERS
        ).status_code
        == 409
    )
    listed = gs.get(f"{ROOM}/api/v1/subs", headers=HEADERS)
    assert event_type in [s["eventType"] for s in listed.json()]
    assert gs.get(subs, headers=HEADERS).json()["id"] == created.json()["id"]

    pull = f"{ROOM}/pull/v1/{event_type}"
    assert gs.get(pull, headers=HEADERS).status_code == 404
    event_id = gs.post(
        f"{ROOM}/pub/v1/{event_type}",
        json={"eventType": event_type, "event": EVENT},
        headers=HEADERS,
    ).json()["id"]
    pulled = gs.get(pull, headers=HEADERS)
    assert pulled.status_code == 200
    assert (pulled.json()["id"], pulled.json()["event"]) == (event_id, EVENT)
    assert gs.delete(f"{pull}/{event_id}", headers=HEADERS).status_code == 204
    assert gs.delete(f"{pull}/{event_id}", headers=HEADERS).status_code == 404
    assert gs.get(pull, headers=HEADERS).status_code == 404

    changed = gs.patch(
        subs,
        json={"eventType": event_type, "delivery": "PULL", "options": {"TTL": 60}},
        headers=HEADERS,
    )
    assert (changed.status_code, changed.json()["options"]["TTL"]) == (201, 60)
    assert gs.delete(subs, headers=HEADERS).status_code == 204
    assert gs.get(subs, headers=HEADERS).status_code == 404
    assert gs.get(pull, headers=HEADERS).status_code == 409


def test_a_caller_without_credentials_is_refused(gs: httpx.Client) -> None:
    assert gs.get(f"{ROOM}/api/v1/eventType").status_code == 401
    assert gs.get(f"{ROOM}/api/v1/subs").status_code == 401
