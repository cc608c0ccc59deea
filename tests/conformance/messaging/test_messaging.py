"""Messaging BB conformance (specs/govstack/messaging and what the published suite checks).

The suite sends ``api_key`` (also ``apiKey`` in the spec), reads ``requestUID`` from the
answers, sends ``requestUID`` as a header and ``status[]`` as a repeated query parameter, and
expects 405 with a JSON body for a missing key, body, request uid or status filter.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping

import httpx
import pytest

CONTENT = {"encoding": "UTF-8", "title": "Example Title Of An Email", "content": "Hello"}
SINGLE = {
    "callback": {"URI": "https://example.com/callback/emails/requestUID"},
    "senderInfo": {"organisationName": "Example Medical Institution", "email": "s@example.com"},
    "recipientInfo": {
        "email": "customer@example.com",
        "emailCC": "customer-cc@example.com",
        "emailBCC": "customer-bcc@example.com",
        "name": "Example Customer",
    },
    "emailContent": CONTENT,
}
PEOPLE = [
    {"recipientInfo": {"email": "customer@example.com", "name": "Example Customer"}},
    {"recipientInfo": {"email": "dear-customer@example.com", "name": "Unknown Customer"}},
]
BATCH = {
    "recipientInfo": {"batchEmailAsBase64": base64.b64encode(json.dumps(PEOPLE).encode()).decode()},
    "emailContent": CONTENT,
}
ALL_STATUSES = ["scheduled", "processing", "deferred", "bounced", "not sent", "delivered"]


def _json(response: httpx.Response) -> None:
    assert "application/json" in response.headers["content-type"]


def _sent(gs: httpx.Client, api_key: str, path: str, body: Mapping[str, object]) -> str:
    answer = gs.post(path, json=body, headers={"api_key": api_key})
    assert answer.status_code == 200, answer.text
    _json(answer)
    uid = answer.json()["requestUID"]
    assert isinstance(uid, str)
    assert uid
    assert answer.json()["requestUid"] == uid
    assert isinstance(answer.json()["response"], str)
    return uid


@pytest.mark.parametrize("header", ["api_key", "apiKey"])
def test_send_single_with_either_key_header(gs: httpx.Client, api_key: str, header: str) -> None:
    answer = gs.post("/send/email/single", json=SINGLE, headers={header: api_key})
    assert answer.status_code == 200, answer.text
    _json(answer)
    assert set(answer.json()) == {"response", "requestUID", "requestUid"}


def test_send_batch_of_two(gs: httpx.Client, api_key: str) -> None:
    uid = _sent(gs, api_key, "/send/email/batch", BATCH)
    status = gs.get(
        "/status/email",
        headers={"api_key": api_key, "requestUID": uid},
        params={"status[]": ["scheduled", "delivered"]},
    )
    # the platform's worker may have sent some already: two emails, scheduled or delivered
    assert sorted(status.json()) == ["delivered", "scheduled"]
    assert sum(status.json().values()) == 2


def test_each_sending_route_takes_either_recipient_form(gs: httpx.Client, api_key: str) -> None:
    assert _sent(gs, api_key, "/send/email/batch", SINGLE)
    assert _sent(gs, api_key, "/send/email/single", BATCH)


@pytest.mark.parametrize(
    ("path", "method", "allowed"),
    [
        ("/send/email/single", "GET", "POST"),
        ("/send/email/single", "DELETE", "POST"),
        ("/send/email/single", "PUT", "POST"),
        ("/send/email/batch", "GET", "POST"),
        ("/send/email/batch", "PATCH", "POST"),
        ("/status/email", "POST", "GET"),
        ("/status/email", "PUT", "GET"),
        ("/callback/email", "GET", "POST"),
        ("/callback/email", "PUT", "POST"),
    ],
)
def test_an_unallowed_method_is_405_with_allow(
    gs: httpx.Client, api_key: str, path: str, method: str, allowed: str
) -> None:
    answer = gs.request(method, path, json=SINGLE, headers={"api_key": api_key})
    assert answer.status_code == 405
    assert answer.headers["allow"] == allowed
    _json(answer)


@pytest.mark.parametrize(("with_key", "with_body"), [(False, True), (True, False), (False, False)])
def test_sending_without_key_or_body_is_405(
    gs: httpx.Client, api_key: str, with_key: bool, with_body: bool
) -> None:
    answer = gs.post(
        "/send/email/single",
        json=SINGLE if with_body else None,
        headers={"api_key": api_key} if with_key else {},
    )
    assert answer.status_code == 405
    assert answer.headers["allow"] == "POST"
    _json(answer)
    assert isinstance(answer.json()["detail"], str)


def test_an_unknown_key_sends_nothing(gs: httpx.Client) -> None:
    answer = gs.post("/send/email/single", json=SINGLE, headers={"api_key": "not-a-key"})
    assert answer.status_code == 405
    assert answer.json()["title"] == "Authentication required"


def test_status_counts_every_status_in_the_callers_spelling(gs: httpx.Client, api_key: str) -> None:
    uid = _sent(gs, api_key, "/send/email/single", SINGLE)
    answer = gs.get(
        "/status/email",
        headers={"api_key": api_key, "requestUID": uid},
        params={"status[]": ALL_STATUSES},
    )
    assert answer.status_code == 200, answer.text
    _json(answer)
    # to, cc and bcc: three deliveries, whatever the worker has done with them yet
    counts = answer.json()
    assert sorted(counts) == [
        "bounced",
        "deferred",
        "delivered",
        "not sent",
        "processing",
        "scheduled",
    ]
    assert sum(counts.values()) == 3
    assert (counts["bounced"], counts["not sent"]) == (0, 0)


@pytest.mark.parametrize(
    ("params", "keys"),
    [
        ({"status[]": ["scheduled"]}, ["scheduled"]),
        (
            {"status[]": ["processing", "deferred", "bounced"]},
            ["bounced", "deferred", "processing"],
        ),
        ({"status[]": ["not_sent", "delivered"]}, ["delivered", "not_sent"]),
        ({"status": ["notSent"]}, ["notSent"]),
        ({"status": "scheduled,delivered"}, ["delivered", "scheduled"]),
    ],
)
def test_status_returns_only_the_selected_statuses(
    gs: httpx.Client, api_key: str, params: dict[str, str | list[str]], keys: list[str]
) -> None:
    uid = _sent(gs, api_key, "/send/email/single", SINGLE)
    answer = gs.get("/status/email", headers={"api_key": api_key, "requestUID": uid}, params=params)
    assert answer.status_code == 200, answer.text
    assert sorted(answer.json()) == keys


@pytest.mark.parametrize(
    ("with_key", "with_uid", "with_status"),
    [(False, True, True), (True, False, True), (True, True, False), (False, False, False)],
)
def test_status_without_key_uid_or_status_is_405(
    gs: httpx.Client, api_key: str, with_key: bool, with_uid: bool, with_status: bool
) -> None:
    uid = _sent(gs, api_key, "/send/email/single", SINGLE)
    headers = {"api_key": api_key} if with_key else {}
    if with_uid:
        headers["requestUID"] = uid
    answer = gs.get(
        "/status/email",
        headers=headers,
        params={"status[]": ALL_STATUSES} if with_status else {},
    )
    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET"
    _json(answer)


def test_an_unknown_status_names_the_field(gs: httpx.Client, api_key: str) -> None:
    uid = _sent(gs, api_key, "/send/email/single", SINGLE)
    answer = gs.get(
        "/status/email",
        headers={"api_key": api_key, "requestUID": uid},
        params={"status[]": ["lost"]},
    )
    assert answer.status_code == 405
    assert [(e["field"], e["rule"]) for e in answer.json()["errors"]] == [("status", "enum")]


def test_status_of_an_unknown_request_is_404(gs: httpx.Client, api_key: str) -> None:
    answer = gs.get(
        "/status/email",
        headers={"api_key": api_key, "requestUID": "fUQK-CPju-Ea5B-6y7X-8A72-VqU5"},
        params={"status[]": ["scheduled"]},
    )
    assert answer.status_code == 404
    _json(answer)


CALLBACK = {
    "meta": "Meta-info",
    "content": "Q2xpZW50LXNwZWNpZmljIGNvbnRlbnQsIG1vc3QgbGlrZWx5IEpTT04=",
}


@pytest.mark.parametrize("path", ["/send/email/single", "/send/email/batch"])
def test_callback_about_a_sent_request(gs: httpx.Client, api_key: str, path: str) -> None:
    uid = _sent(gs, api_key, path, SINGLE)
    answer = gs.post(
        "/callback/email", json=CALLBACK, headers={"api_key": api_key, "requestUID": uid}
    )
    assert answer.status_code == 200, answer.text
    _json(answer)
    assert answer.json()["requestUID"] == uid


@pytest.mark.parametrize(
    ("with_key", "with_uid", "with_body"),
    [(False, True, True), (True, False, True), (True, True, False)],
)
def test_callback_without_key_uid_or_payload_is_405(
    gs: httpx.Client, api_key: str, with_key: bool, with_uid: bool, with_body: bool
) -> None:
    uid = _sent(gs, api_key, "/send/email/single", SINGLE)
    headers = {"api_key": api_key} if with_key else {}
    if with_uid:
        headers["requestUID"] = uid
    answer = gs.post("/callback/email", json=CALLBACK if with_body else None, headers=headers)
    assert answer.status_code == 405
    assert answer.headers["allow"] == "POST"
    _json(answer)
