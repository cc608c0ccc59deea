"""Every route of the built app, as every caller, on real objects, against the literal table.

``test_every_route_has_a_row`` fails when a route (API or page, any method) has no row in
``tests/security/table.py``, or a row names a route that no longer exists.
``test_every_caller_gets_what_the_table_says`` signs the humans in through the real dev login,
makes machine keys through the API-key use case, builds a world of real objects through the
app's use cases and routes, and calls every (route, caller) once with a body the owner would be
allowed to send. A refused mutating call must leave no trace (rows, object states, audit other
than the refusal, stored files, caught mail, department calls).

Reads are sent by all callers at once; mutations one caller at a time, refusals first, each
between two snapshots (one refusal's snapshot after is the next one's before, when nothing ran
between them: half the snapshots, the same comparisons). About a minute per backend on a
quiet machine (SQLite and PostgreSQL).
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount

from civicloom.app import create_app
from civicloom.runtime import Container
from tests.integration.backoffice.world import restaurant_data
from tests.kpiwork import run_kpi_jobs
from tests.security.table import COLUMNS, LEAKS, rows
from tests.security.world import (
    PORTAL_PAGES,
    Caller,
    Platform,
    World,
    build_world,
    callers,
    changes,
    email_body,
    sign_in,
    snapshot,
)
from tests.unit.documents import samples

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
FRESH_KINDS = {
    "la_task",
    "la_task_claimed",
    "env_task",
    "info_app",
    "due_app",
    "dead_letter",
    "draft",
    "draft_full",
    "consent",
    "licence",
    "mandate",
    "staff_grant",
    "change",
    "change_template",
    "change_edited",
    "change_submitted",
    "refused",
    "review",
}
STATIC_KINDS = {"-", "self", "alice", "la", "env", "paid", "due", "statement"}
MOUNT_FILES = {
    "/assets": "/assets/all.bundle.js",
    "/static": "/static/civicloom.css",
    "/api-docs": "/api-docs/swagger-ui.css",
}
THROWAWAY = {"login_form", "logout", "language"}
"""Bodies of rows tried from a browser of the caller's own (they change the session or locale)."""
MACHINE_PATHS = (
    "/api/",
    "/bills/",
    "/billTransferRequests",
    "/send/",
    "/status/",
    "/callback/",
    "/.well-known/",
    "/metrics",
    "/healthz",
    "/readyz",
    "/auth/me",
)


def app_routes(container: Container) -> set[tuple[str, str]]:
    """(method, path template) of every route of the app as ``civicloom serve`` builds it."""
    found = set()
    for context in iter_route_contexts(create_app(container).routes):
        route = context.original_route
        if isinstance(route, Mount):
            found.add(("GET", str(context.path)))
            continue
        for method in set(getattr(route, "methods", None) or {"GET"}) - {"HEAD"}:
            found.add((method, str(context.path)))
    return found


async def test_every_route_has_a_row(container: Container) -> None:
    routes = app_routes(container)
    table = {(method, path) for method, path, *_ in rows()}
    assert len(routes) > 100
    missing = sorted(f"{m} {p}" for m, p in routes - table)
    stale = sorted(f"{m} {p}" for m, p in table - routes)
    assert missing == [], "add a row to tests/security/table.py for each new route"
    assert stale == [], "these rows name routes the app no longer has"
    assert len(table) == len(rows()), "a route has two rows"
    assert all(kind in FRESH_KINDS | STATIC_KINDS for _, _, kind, _, _ in rows())
    assert set(LEAKS) <= table


# --- the matrix ------------------------------------------------------------------------------


def concrete(path: str, params: dict[str, str]) -> str:
    """The path with real ids (a mount gets one of its files)."""
    if path in MOUNT_FILES:
        return MOUNT_FILES[path]
    return re.sub(r"{(\w+)(?::\w+)?}", lambda m: params[m[1]], path)


def request_of(body: str, params: dict[str, str], caller: str, n: int) -> dict[str, Any]:
    """httpx keyword arguments for a body the object's owner would be allowed to send."""
    unique = f"{caller}-{n}"
    pdf = samples.pdf("Golden Dragon floor plan")
    bodies: dict[str, dict[str, Any]] = {
        "-": {},
        "kpi_query": {"params": {"service": "open-a-restaurant"}},
        "what_if_query": {"params": {"model": "local-admin/licence-fee", "version": 1}},
        "case_query": {"params": {"q": "BR-2019-004211"}},
        "application": {
            "json": {"service": "open-a-restaurant", "data": restaurant_data()},
            "headers": {"Idempotency-Key": f"attack-app-{unique}"},
        },
        "upload": {
            "data": {"document_type": "floor_plan"},
            "files": {"file": ("Floor plan.pdf", pdf, "application/pdf")},
        },
        "answer": {"json": {"answer": "The floor plan is drawn at 1:100."}},
        "preferences": {
            "json": {"email": "me@example.org", "locale": "en", "channels": ["email", "portal"]}
        },
        "payment": {
            "json": {"return_url": "/applications"},
            "headers": {"Idempotency-Key": f"attack-pay-{unique}"},
        },
        "refund": {
            "json": {"amount": "1.00", "reason": "overcharged"},
            "headers": {"Idempotency-Key": f"attack-refund-{unique}"},
        },
        "webhook": {
            "content": json.dumps(
                {
                    "id": f"evt_attack_{unique}",
                    "type": "payment.succeeded",
                    "data": {
                        "intent_id": params["provider_reference"],
                        "amount_minor": 1,
                        "currency": "EUR",
                    },
                }
            ),
            "headers": {"Content-Type": "application/json"},
        },
        "settlement": {
            "content": params["settlement"],
            "headers": {"Content-Type": "text/csv"},
        },
        "bill_transfer": {
            "json": {
                "requestId": f"r{n}"[:12],
                "billInquiryRequestId": f"q{n}"[:12],
                "billId": params.get("bill_id", ""),
                "paymentReferenceID": f"PR{n:08d}{len(caller)}"[:16],
                # ADR 0033: a notification names the amount paid and its currency.
                "paidAmount": int(params.get("amount_minor", "0")),
                "currency": params.get("currency", "EUR"),
            }
        },
        "callback": {
            # The payment step's key, which the issue says is predictable; unsigned here.
            "content": json.dumps(
                {"idempotency_key": params["payment_task_key"], "status": "cleared"}
            ),
            "headers": {"Content-Type": "application/json"},
        },
        "email": {"json": email_body(unique)},
        "email_batch": {
            "json": {
                "senderInfo": {},
                "recipientInfo": {
                    "batchEmailAsBase64": base64.b64encode(
                        json.dumps(
                            [{"recipientInfo": {"email": "bob.martins@example.org", "name": "B"}}]
                        ).encode()
                    ).decode()
                },
                "emailContent": email_body(unique)["emailContent"],
            }
        },
        "request_uid": {
            "headers": {"requestUid": params["request_uid"]},
            "params": {"status": "scheduled"},  # the spec's required filter (ADR 0046)
        },
        "email_callback": {
            "json": {"meta": "", "content": "aGVsbG8="},
            "headers": {"requestUid": params["request_uid"]},
        },
        "token": {"json": {"token": params["licence_token"]}},
        "revocation": {"json": {"reason": "The premises closed."}},
        "assign": {"json": {"assignee": "olivia"}},
        "decision": {"json": {"decision": "approve"}},
        "information_request": {"json": {"message": "Please send the floor plan's scale."}},
        "prefill": {"data": {"consent": "no"}},
        "page_answers": {"data": PORTAL_PAGES["business"]},
        "draft_submit": {"data": {"idempotency_key": params.get("idempotency_key", "")}},
        "page_upload": {
            "data": {"document_type": "floor_plan"},
            "files": {"file": ("Floor plan.pdf", pdf, "application/pdf")},
        },
        "page_answer": {"data": {"answer": "The floor plan is drawn at 1:100."}},
        # A PDF that is not a licence: every caller gets the reason beside the field.
        "licence_pdf": {"files": {"licence_pdf": ("Floor plan.pdf", pdf, "application/pdf")}},
        # Feedback without an answer: every caller is told beside the field, nothing stored.
        "feedback_blank": {"data": {"comment": "No answer chosen."}},
        "account": {
            "data": {"channels": ["email", "portal"], "email": "me@example.org", "locale": "en"}
        },
        "withdraw": {"data": {"confirm": "yes"}},
        "page_assign": {"data": {"assignee": "olivia"}},
        "page_decision": {"data": {"decision": "approve"}},
        "review_request": {"data": {"reason": "The zoning map was corrected in 2025."}},
        "review_decision": {
            "data": {"decision": "uphold", "reason": "The parcel is residential in the plan."}
        },
        "page_information_request": {"data": {"message": "Please send the floor plan's scale."}},
        "page_note": {"data": {"note": "Called the applicant about the grease trap."}},
        "mandate_grant": {
            "data": {
                "registration_number": "BR-2019-004211",
                "delegate": f"carol-{unique}",
                "services": "open-a-restaurant",
                "valid_until-day": "31",
                "valid_until-month": "12",
                "valid_until-year": "2030",
            }
        },
        "staff_grant": {
            "data": {
                "kind": "leave",
                "subject": "nora",
                "starts_on-day": "1",
                "starts_on-month": "1",
                "starts_on-year": "2030",
                "ends_on-day": "7",
                "ends_on-month": "1",
                "ends_on-year": "2030",
                "reason": "Annual leave",
            }
        },
        "change_draft": {"data": {"target": "blueprint:open-a-restaurant", "title": "Seats"}},
        "change_field": {
            "data": {
                "name": "outdoor_seats",
                "type": "integer",
                "title_en": "Outdoor seats",
                "title_zh": "室外座位数",
                "page": "premises",
                "required": "no",
                "data_class": "business",
                "legal_basis": "Food Business Licensing Act 2019, s. 12",
                "retention": "P6Y",
            }
        },
        "change_cells": {
            "data": {
                "cell:fee-table:small:out_fee": "500",
                "tests": "cases:\n  - name: 40 seats\n    input: {seating: 40}\n"
                "    expect: {fee: 500}\n",
            }
        },
        "change_sla": {"data": {"step": "payment", "days": "5"}},
        "change_text": {
            "data": {"language": "en", "text": "Subject: Received {{ reference }}\n\nThank you."}
        },
        "change_upload": {
            "data": {"path": "services/open-a-restaurant/blueprint.yaml"},
            "files": {"file": ("blueprint.yaml", b"id: open-a-restaurant\n", "text/yaml")},
        },
        "change_submit": {
            "data": {"effective-day": "1", "effective-month": "1", "effective-year": "2030"}
        },
        "change_refusal": {"data": {"reason": "Not needed any more."}},
        "api_change_draft": {
            "json": {"kind": "blueprint", "target": "open-a-restaurant", "title": "Seats"}
        },
        "api_change_files": {
            "json": {"files": {"services/open-a-restaurant/blueprint.yaml": "id: x\n"}}
        },
        "api_change_submit": {"json": {"effective_at": "2030-01-01T00:00:00Z"}},
        "api_change_approval": {"json": {"decision": "approve"}},
        "api_change_withdrawal": {"json": {"reason": "Not needed any more."}},
        "page_inspection": {
            "data": {"planned_on": "2027-02-01", "inspection_note": "Kitchen and grease trap."}
        },
    }
    return {k: dict(v) if isinstance(v, dict) else v for k, v in bodies[body].items()}


@dataclass
class Outcome:
    """One cell: what the table says and what the app did."""

    caller: str
    method: str
    path: str
    expected: str
    got: str
    side_effects: list[str]

    def __str__(self) -> str:
        extra = f"; also: {', '.join(self.side_effects)}" if self.side_effects else ""
        return (
            f"{self.caller:6} {self.method:4} {self.path}: expected {self.expected}, "
            f"got {self.got}{extra}"
        )


def matches(expected: str, response: httpx.Response) -> bool:
    """Does the response say what the cell says?"""
    if expected == "login":
        return response.status_code == 303 and "/auth/" in response.headers.get("location", "")
    return str(response.status_code) == expected


def got_of(response: httpx.Response) -> str:
    """The status, with where a redirect goes."""
    if response.status_code in (301, 302, 303, 307):
        where = re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "{id}", response.headers.get("location", ""))
        return f"{response.status_code} -> {where[:70]}"
    return str(response.status_code)


async def send(
    platform: Platform,
    who: Caller,
    method: str,
    path: str,
    body: str,
    params: dict[str, str],
    n: int,
) -> httpx.Response:
    """One request as one caller (login and logout from a browser of their own)."""
    kwargs = request_of("-" if body in THROWAWAY else body, params, who.name, n)
    client, csrf = who.client, who.csrf
    if body in THROWAWAY:
        own = await sign_in(platform, who.name) if who.is_session else None
        client = own.client if own else platform.client()
        page = await client.get("/auth/dev-login")
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        csrf = found[1] if found else ""
        if body == "login_form":
            kwargs = {"data": {"persona": "bob"}}
        elif body == "logout":
            kwargs = {"data": {}}
    # Browsers ask for HTML on pages; API clients for JSON.
    accept = "application/json" if path.startswith(MACHINE_PATHS) else "text/html"
    headers = {"Accept": accept, **who.headers, **kwargs.pop("headers", {})}
    if method in UNSAFE and csrf:
        headers["X-CSRF-Token"] = csrf
        if "data" in kwargs:
            kwargs["data"] = {**kwargs["data"], "csrf_token": csrf}
    try:
        return await client.request(method, path, headers=headers, **kwargs)
    finally:
        if client is not who.client:
            await client.aclose()


ALICES = ("Golden Dragon", "Alice Chen", "alice@example.org", "alice.chen@example.org")
"""What a refusal must not show anyone but Alice (her business, name and e-mail addresses)."""


def revealed(caller: str, expected: str, response: httpx.Response) -> list[str]:
    """Alice's personal data in the answer to a refused call by someone else."""
    if caller == "alice" or not refused(expected):
        return []
    return [f"shows {word!r}" for word in ALICES if word in response.text]


def refused(expected: str) -> bool:
    """A cell that says the call must be turned away."""
    return expected == "login" or expected.startswith("4")


async def test_every_caller_gets_what_the_table_says(
    backend: str, platform: Platform, request: pytest.FixtureRequest
) -> None:
    started = time.monotonic()
    everyone = await callers(platform)
    world: World = await build_world(platform, everyone["alice"], everyone["priya"], everyone["k+"])
    await run_kpi_jobs(platform.container)  # the worker stores the KPI reports (ADR 0082)
    built = time.monotonic()
    failures: list[Outcome] = []
    checked = 0
    for method, template, kind, body, cells in rows():
        base = dict(world.ids)
        if kind == "paid":
            base["application_id"] = world.ids["paid_application_id"]
        if kind == "statement":
            base["department"] = "local-admin"
        if method == "GET":
            # Reads change nothing a later caller depends on: all callers at once.
            path = concrete(template, base)
            answers = await asyncio.gather(
                *(send(platform, everyone[c], method, path, body, base, 0) for c in COLUMNS)
            )
            checked += len(COLUMNS)
            for c, r in zip(COLUMNS, answers, strict=True):
                shown = [
                    f"shows {key}"
                    for key in LEAKS.get((method, template), {}).get(c, ())
                    if world.ids[key] in r.text
                ] + revealed(c, cells[c], r)
                if not matches(cells[c], r) or shown:
                    failures.append(Outcome(c, method, template, cells[c], got_of(r), shown))
            continue
        victim: dict[str, str] | None = None
        # The state after the previous refused call of this row, while nothing has run since
        # (no request, no new object): it is the next refused call's state before, as read.
        unchanged_since: dict[str, object] | None = None
        order = sorted(COLUMNS, key=lambda c: not refused(cells[c]))  # refusals first
        for caller in order:
            expected = cells[caller]
            who = everyone[caller]
            params = dict(base)
            if kind in FRESH_KINDS:
                if refused(expected):
                    if victim is None:
                        victim = await world.fresh(kind)
                        unchanged_since = None
                    params.update(victim)
                else:
                    params.update(await world.fresh(kind))
                    unchanged_since = None
            path = concrete(template, params)
            watch = refused(expected) and body not in THROWAWAY
            before: dict[str, object] = {}
            if watch:
                before = unchanged_since or await snapshot(platform)
            checked += 1
            response = await send(platform, who, method, path, body, params, checked)
            after = await snapshot(platform) if watch else None
            unchanged_since = after
            left = changes(before, after) if after is not None else []
            left += revealed(caller, expected, response)
            if left or (refused(expected) and response.status_code < 400):
                victim = None  # it was changed: the next refused caller gets an untouched one
            if not matches(expected, response) or left:
                failures.append(Outcome(caller, method, template, expected, got_of(response), left))
    problems = [p for who in everyone.values() for p in who.problems]
    for who in everyone.values():
        await who.client.aclose()
    assert checked == len(rows()) * len(COLUMNS)
    report = "\n".join(str(f) for f in failures)
    timing = f"world {built - started:.0f} s, table {time.monotonic() - built:.0f} s"
    notes = "\n".join(problems)
    assert failures == [], (
        f"{len(failures)} of {checked} cells differ ({timing}):\n{report}\n{notes}"
    )
    assert problems == [], problems
