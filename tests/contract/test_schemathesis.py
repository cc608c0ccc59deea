"""schemathesis over the whole committed OpenAPI, in-process against the ASGI app on SQLite with
the demo loaded, as a citizen, an officer, the operator and a machine client (API key).

Every check schemathesis has runs on every response, none excluded for any operation: no 5xx,
every status code, media type, header (``Allow`` of a 405 included) and body as documented,
invalid input refused, valid input not refused. Generated cases run through
``@schema.parametrize()`` (examples, coverage and fuzzing phases) and the stateful phase through
the schema's state machine (links schemathesis infers from the schema: an id in one response
feeds the path of the next call). Hypothesis is derandomised and the example
count bounded, so the run is repeatable and the module stays under three minutes here.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck
from schemathesis.python import asgi

from civicloom.bootstrap import build_app
from civicloom.demo import load_demo
from civicloom.identity import create_api_key
from civicloom.runtime import Container
from civicloom.settings import Profile, Settings

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "reference" / "openapi.json"
MAX_EXAMPLES = 12
STATEFUL_STEPS = 10
STATEFUL_EXAMPLES = 10

# Who calls. Bearer dev:<persona> is the test profile's sign-in (as the rest of the suite uses).
CALLERS: dict[str, dict[str, str]] = {
    "citizen": {"Authorization": "Bearer dev:alice"},
    "officer": {"Authorization": "Bearer dev:olivia"},
    "operator": {"Authorization": "Bearer dev:priya"},
    "machine": {},  # an API key of a tax-department client, issued when the demo is loaded
}

# Valid-looking input that a rule OpenAPI cannot state may still be refused with a 422 (named
# field and rule). For these operations, and only these, a 422 on schema-valid data is accepted;
# every other check (no 5xx, documented status, media type and body) still holds for them.
CROSS_FIELD_RULES: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/applications"): "`data` is checked against the chosen service's own form",
    ("PUT", "/api/v1/me/notification-preferences"): "a channel needs its address (sms, email)",
    ("POST", "/api/v1/tasks/{task_id}/decision"): "a rejection needs a reason for the applicant",
    ("POST", "/send/email/batch"): "`batchEmailAsBase64` is base64 of a JSON list of recipients",
    ("GET", "/status/email"): "`status` or `status[]` names at least one status (Messaging BB)",
}


class _PreparedApp:
    """The ASGI app; the demo and an API key are set up on the first request, inside the event
    loop schemathesis serves the app from (the database engine belongs to that loop)."""

    def __init__(self, app: Any, setup: Callable[[], Awaitable[None]]) -> None:
        self.app, self.setup, self.ready = app, setup, False
        self._lock: asyncio.Lock | None = None
        self.calls = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan" and not self.ready:
            self._lock = self._lock or asyncio.Lock()
            async with self._lock:
                if not self.ready:
                    await self.setup()
                    self.ready = True
        if scope["type"] == "http":
            self.calls += 1
        await self.app(scope, receive, send)


_ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429"]  # schemathesis's defaults
_REFUSED = ["400", "401", "403", "404", "405", "406", "409", "415", "422", "428", "429"]
config = schemathesis.Config.from_dict(
    {
        "base-url": "http://testserver",
        "generation": {"max-examples": MAX_EXAMPLES},
        "phases": {"stateful": {"max-steps": STATEFUL_STEPS}},
        "checks": {
            # An oversize body is refused by the body limit (413) before it is read or checked.
            "negative_data_rejection": {"expected-statuses": [*_REFUSED, "413"]},
        },
        "operations": [
            {
                "include-method": method,
                "include-path": path,
                "checks": {"positive_data_acceptance": {"expected-statuses": [*_ACCEPTED, "422"]}},
            }
            for method, path in CROSS_FIELD_RULES
        ],
    }
)
schema = schemathesis.openapi.from_path(COMMITTED, config=config)
APP: dict[str, Any] = {}  # the app under test, built by the fixture below


@pytest.fixture(scope="module", autouse=True)
def demo_app(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[None]:
    """The app on a fresh SQLite database; the demo is loaded on its first request."""
    root = tmp_path_factory.mktemp("schemathesis")
    shutil.copy(sqlite_template, root / "civicloom.db")
    settings = Settings(
        profile=Profile.TEST,
        database_url=f"sqlite+aiosqlite:///{root / 'civicloom.db'}",
        var_dir=root / "var",
        log_json=True,
    )
    app = build_app(settings)  # the composition root, as `civicloom serve` builds it
    container: Container = app.state.container

    async def setup() -> None:
        await load_demo(container, progress=lambda _: None)
        issued = await create_api_key(
            container.uow(),
            container.clock,
            name="schemathesis-client",
            department="tax",
            scopes=["messaging:send", "applications:read"],
        )
        CALLERS["machine"].update({"Authorization": f"Bearer {issued.key}", "apiKey": issued.key})

    APP["app"] = _PreparedApp(app, setup)
    with asgi.get_client(APP["app"]) as warm_up:  # set up before any case
        assert warm_up.get("/api/v1/services").status_code == 200
    assert CALLERS["machine"], "the API key was not issued"
    yield
    APP.clear()


@schema.parametrize()
@hypothesis.settings(
    deadline=None,
    max_examples=MAX_EXAMPLES,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_operation_as_every_caller(case: schemathesis.Case[Any]) -> None:
    for headers in CALLERS.values():
        case.call_and_validate(headers=headers, app=APP["app"])


@pytest.mark.parametrize("caller", sorted(CALLERS))
def test_stateful_sequences_as_every_caller(caller: str) -> None:
    """Linked operations in sequence (ids from earlier responses fed to later calls)."""
    base = schema.as_state_machine()

    class Machine(base):  # type: ignore[valid-type, misc]
        def get_call_kwargs(self, case: schemathesis.Case[Any]) -> dict[str, Any]:
            return {"headers": CALLERS[caller], "app": APP["app"]}

    before = APP["app"].calls
    Machine.run(
        settings=hypothesis.settings(
            max_examples=STATEFUL_EXAMPLES,
            stateful_step_count=STATEFUL_STEPS,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        )
    )
    assert APP["app"].calls > before + STATEFUL_EXAMPLES, "the state machine made (almost) no calls"
